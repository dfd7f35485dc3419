"""The session store (tbfw.store) on CPython: random operation sequences with
a power cut at a random point, checked against a model, and the flash bounds.
The exhaustive every-byte cuts run under MicroPython (tests/fw/fwtest_store.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import talkbalance.fw  # noqa: F401  (puts the firmware on sys.path)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "fw"))

from faultfs import FaultFs, PowerCut  # noqa: E402
from tbfw import store  # noqa: E402


def _read(s, rec_id):
    """A record's data, checked (Store.open_read), read whole."""
    reader = s.open_read(rec_id)
    buf = bytearray(reader.size)
    assert reader.read_into(0, buf) == reader.size
    return bytes(buf)


rec_ids = st.sampled_from(["tb-1-1", "tb-1-2", "tb-2-1", "tb-2-2", "tb-3-1"])
ops = st.lists(st.one_of(
    st.tuples(st.just("add"), rec_ids, st.binary(max_size=300)),
    st.tuples(st.just("ack"), rec_ids),
    st.tuples(st.just("reopen")),
), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops, st.integers(0, 3000), st.booleans())
def test_random_operations_with_a_power_cut(tmp_path_factory, steps, budget, rename_copy):
    root = str(tmp_path_factory.mktemp("st") / "s")
    fs = FaultFs(budget, rename_copy)
    model: dict[str, tuple[bytes, bool]] = {}
    in_flight: tuple | None = None
    try:
        s = store.Store(root, max_records=10, fs=fs)
        for op in steps:
            in_flight = op
            if op[0] == "add":
                if op[1] in model and not model[op[1]][1]:  # unsynced: never overwritten
                    with pytest.raises(store.StoreExists):
                        s.add(op[1], op[2])
                    in_flight = None
                    continue
                s.add(op[1], op[2])
                model[op[1]] = (op[2], False)
            elif op[0] == "ack":
                if op[1] in s:
                    s.ack(op[1])
                    model[op[1]] = (model[op[1]][0], True)
            else:
                s = store.Store(root, max_records=10, fs=fs)
            in_flight = None
    except PowerCut:
        pass
    after = store.Store(root, max_records=10)
    got = {r["id"]: (_read(after, r["id"]), r["synced"]) for r in after.records()}
    for rec_id, want in model.items():
        if in_flight is not None and in_flight[0] in ("add", "ack") and in_flight[1] == rec_id:
            continue
        assert got.get(rec_id) == want, rec_id
    if in_flight is not None and in_flight[0] == "add":
        rec_id, new = in_flight[1], (in_flight[2], False)
        if rec_id in model:  # a replacement: the old copy or the new, never neither
            assert got[rec_id] in (model[rec_id], new)
        else:
            assert got.get(rec_id, new) == new
    if in_flight is not None and in_flight[0] == "ack" and in_flight[1] in model:
        assert got[in_flight[1]][0] == model[in_flight[1]][0]
    assert set(got) <= set(model) | ({in_flight[1]} if in_flight and in_flight[0] == "add" else set())
    assert not list(Path(root).glob("*.t"))


class SmallFlash(store.OsFs):
    """A filesystem reporting `free` bytes in 4 KB blocks."""

    def __init__(self, free):
        self.free = free

    def statvfs(self, path):
        return (4096, 4096, 512, self.free // 4096, self.free // 4096, 0, 0, 0, 0, 255)


def test_flash_share_bounds_the_store(tmp_path):
    flash = SmallFlash(100 * 4096)  # 400 KB free; 50% -> 50 blocks of records
    s = store.Store(str(tmp_path / "s"), max_records=1000, max_flash_pct=50, fs=flash)
    for i in range(80):
        s.add(f"tb-1-{i}", bytes(3000))  # one block each
        flash.free -= 4096
        if i % 2:
            s.ack(f"tb-1-{i}")
        used = s.used_bytes()
        flash.free = 100 * 4096 - used
        assert used <= s.budget_bytes()
    c = s.counters()
    assert c["stored"] == 50
    # Synced records went first: every unsynced record is still there.
    assert c["dropped"] == 0 and c["unsynced"] == 40


def test_unsynced_loss_is_counted_and_survives_reboot(tmp_path):
    root = str(tmp_path / "s")
    s = store.Store(root, max_records=3)
    for i in range(5):
        s.add(f"tb-1-{i}", b"x")
    c = store.Store(root, max_records=3).counters()
    assert c["dropped_by"] == {store.DROP_EVICTED: 2}
    assert c["recent_drops"] == [["tb-1-0", store.DROP_EVICTED], ["tb-1-1", store.DROP_EVICTED]]
    assert [r["id"] for r in store.Store(root, max_records=3).records()] == ["tb-1-2", "tb-1-3", "tb-1-4"]


def test_too_large_is_refused_and_counted(tmp_path):
    s = store.Store(str(tmp_path / "s"), max_record_bytes=1000)
    s.add("tb-1-1", b"ok")
    try:
        s.add("tb-1-2", bytes(1001))
    except store.StoreFull:
        pass
    else:
        raise AssertionError("a record over the limit was kept")
    assert s.counters()["dropped_by"] == {store.DROP_TOO_LARGE: 1}
    assert _read(s, "tb-1-1") == b"ok"


def test_bad_ids_are_refused(tmp_path):
    s = store.Store(str(tmp_path / "s"))
    for bad in ("", "a b", "x" * 65, "caf\u00e9", "tab\t"):
        try:
            s.add(bad, b"1")
        except ValueError:
            continue
        raise AssertionError(f"accepted id {bad!r}")
    shutil.rmtree(tmp_path / "s")
