"""Hostile input at the laptop's end of a sync: a device that reissues ids,
a record holding values SQLite cannot keep, a clock from far in the future,
and a config change that would delete unsynced sessions. The device side of
the same cases runs under MicroPython in tests/fw/fwtest_hostile_cases.py;
the generated flash and argument fuzz in tests/fw/fwtest_hostile_fuzz.py."""

from __future__ import annotations

import json
import shutil

import pytest
from ptydevice import PtyDevice, device_store
from records_fixture import make_record
from talkbalance.device import Device, DeviceError
from talkbalance.errors import InputError
from talkbalance.localstore import LocalStore
from talkbalance.recordsync import sync

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import store, wire  # noqa: E402  isort: skip

DEVICE = "tb-test"
TIMEOUT = 0.5


@pytest.fixture(scope="module")
def records():
    return [make_record(seed=i + 1, seconds=60, device=DEVICE, boot=i + 1, start=1_700_000_000 + 3_600 * i)
            for i in range(4)]


def _sync(root, db, **kw):
    with PtyDevice(root, DEVICE) as rig, Device.connect(rig.path, timeout=TIMEOUT) as dev, LocalStore(db) as local:
        return sync(dev, local, set_clock=False, **kw)


def _listed(root):
    st = store.Store(root)
    try:
        return {r["id"]: r["synced"] for r in st.records()}
    finally:
        st.close()


def test_a_reissued_id_with_other_content_is_a_conflict_never_a_duplicate(tmp_path, records):
    """Case 1: a device erased and deployed again counts boots from 1 again
    (old firmware): its new sessions carry the ids of sessions already here."""
    db = tmp_path / "db.sqlite3"
    old = device_store(str(tmp_path / "before"), records)
    assert _sync(old, db).new == 4
    # The same ids, other meetings.
    again = [dict(make_record(seed=50 + i, seconds=90, device=DEVICE, boot=i + 1), id=r["id"])
             for i, r in enumerate(records)]
    erased = device_store(str(tmp_path / "after"), again)
    result = _sync(erased, db)
    assert result.new == 4 and len(result.conflicts) == 4 and result.already == 0, result.summary()
    assert "4 conflicts" in result.summary()
    with LocalStore(db) as local:
        rows = {s.id: s.record for s in local.all()}
    for old_rec, new_rec in zip(records, again):
        assert rows[old_rec["id"]]["duration_s"] == old_rec["duration_s"]  # the first kept as it was
        kept = [key for rid, key in result.conflicts if rid == new_rec["id"]]
        assert rows[kept[0]]["duration_s"] == new_rec["duration_s"]  # the second stored beside it
    assert all(_listed(erased).values())  # acknowledged because stored, not as copies
    # A second sync changes nothing.
    assert _sync(erased, db).new == 0


def test_a_sync_cut_before_its_ack_is_recognised_by_content(tmp_path, records):
    db = tmp_path / "db.sqlite3"
    root = device_store(str(tmp_path / "flash"), records)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    _sync(str(copy), db)  # stored from a copy: the device itself was never acknowledged
    result = _sync(root, db)
    assert result.new == 0 and result.already == 4 and result.acked == 4 and not result.conflicts


def test_one_unstorable_record_does_not_block_the_others(tmp_path, records):
    """Case 3: a record whose start SQLite cannot hold (a clock set to
    10**20 by an older firmware) is reported and left on the device; the
    others are stored and acknowledged."""
    db = tmp_path / "db.sqlite3"
    bad = dict(make_record(seed=9, seconds=60, device=DEVICE, boot=9), start=10 ** 20)
    root = device_store(str(tmp_path / "flash"), records + [bad])
    result = _sync(root, db)
    assert result.new == 4 and result.acked == 4, result.summary()
    assert [rid for rid, _ in result.unstorable] == [bad["id"]]
    assert "1 not storable" in result.summary()
    listed = _listed(root)
    assert listed[bad["id"]] is False and sum(listed.values()) == 4
    again = _sync(root, db)
    assert again.new == 0 and [rid for rid, _ in again.unstorable] == [bad["id"]]


def test_a_clock_the_laptop_cannot_show_is_printed_not_a_crash(tmp_path, capsys, records):
    """Case 3, host side: `info` and `clock` against a device that answers
    a clock of 10**20 (older firmware accepted one) print, never crash."""
    from talkbalance.cli import main

    root = device_store(str(tmp_path / "flash"), records)
    with PtyDevice(root, DEVICE) as rig:
        rig.dev.clock = 10 ** 20
        assert main(["info", "--port", rig.path]) == 0
        assert main(["clock", "--port", rig.path]) == 0
    out = capsys.readouterr().out
    assert "not a date this laptop can show" in out


class _EvictingDevice(Device):
    """config-set as the firmware answers it when a change would evict
    (Device's own set_config over a fake call: no port)."""

    def __init__(self, lost):
        self.lost = lost
        self.calls = []

    def call(self, name, args=None, **_kw):
        self.calls.append(args)
        if args.get("evict", 0) < self.lost:
            raise DeviceError(wire.E_WOULD_EVICT, f"{self.lost} unsynced sessions would be deleted",
                              {"unsynced": self.lost})
        return {"config": dict(args["set"]), "applies": {}}


def test_config_set_that_would_evict_needs_confirmation(monkeypatch):
    """Case 7, host side: the laptop says how many and asks; without a
    terminal it refuses with a hint, and --evict N confirms."""
    from talkbalance.commands import config as cmd

    dev = _EvictingDevice(3)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(InputError, match="would delete 3 unsynced sessions") as err:
        cmd._set(dev, {"store_max_records": 10}, 0)
    assert "--evict 3" in err.value.hint
    with pytest.raises(InputError):
        cmd._set(dev, {"store_max_records": 10}, 2)
    assert cmd._set(dev, {"store_max_records": 10}, 3)["config"] == {"store_max_records": 10}
    answers = iter(["y\n"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdin.readline", lambda: next(answers))
    dev.calls.clear()
    assert cmd._set(dev, {"store_max_records": 10}, 0)["config"] == {"store_max_records": 10}
    assert [c.get("evict") for c in dev.calls] == [0, 3]


def test_record_json_round_trip_is_the_identity(records):
    """Content identity compares canonical JSON: a record read back from
    the store compares equal to the one fetched."""
    from talkbalance.localstore import canonical

    for rec in records:
        assert canonical(json.loads(canonical(rec))) == canonical(rec)


def test_bad_list_entries_and_refused_records_do_not_stop_a_sync(tmp_path, records):
    """A device that lists an entry that is not a record, and one that is
    gone when it is asked for: both reported, the others stored and acked."""
    db = tmp_path / "db.sqlite3"
    root = device_store(str(tmp_path / "flash"), records)
    with PtyDevice(root, DEVICE) as rig:
        real = rig.dev.records
        rig.dev.records = lambda: real() + [
            {"id": 5, "size": 1, "synced": False, "seq": 900},
            {"id": "x" * 65, "size": 1, "synced": False, "seq": 901},
            {"id": f"{DEVICE}-9-gone-1", "size": 10, "synced": False, "seq": 902}]
        with Device.connect(rig.path, timeout=TIMEOUT) as dev, LocalStore(db) as local:
            result = sync(dev, local, set_clock=False)
    assert result.new == 4 and result.acked == 4, result.summary()
    reasons = dict(result.skipped)
    assert len(reasons) == 3 and "not-found" in reasons[f"{DEVICE}-9-gone-1"], reasons
    assert "3 not fetched" in result.summary()


def test_acks_go_in_batches_the_device_takes(tmp_path, records):
    """Short ids: more than the device's 64 ids per ack would fit in a line."""
    db = tmp_path / "db.sqlite3"
    many = [dict(records[0], id=f"t-{i}-1", device="t", boot=i) for i in range(1, 91)]
    root = device_store(str(tmp_path / "flash"), many)
    with PtyDevice(root, "t") as rig, Device.connect(rig.path, timeout=TIMEOUT) as dev, LocalStore(db) as local:
        result = sync(dev, local, set_clock=False)
    assert result.new == 90 and result.acked == 90, result.summary()


def test_sync_tells_of_sessions_the_device_lost_before_they_were_synced(tmp_path, records, capsys):
    """Case 7, afterwards: an unsynced session evicted on the device (its
    store full) is named at the next sync, not only counted in `info`."""
    from talkbalance.cli import main

    root = str(tmp_path / "flash")
    st = store.Store(root, max_records=10)
    many = [dict(records[0], id=f"{DEVICE}-{i}-1", boot=i) for i in range(1, 12)]
    for rec in many:
        st.add(rec["id"], json.dumps(rec).encode())
    st.close()
    with PtyDevice(root, DEVICE) as rig:
        assert main(["sync", "--port", rig.path, "--db", str(tmp_path / "db.sqlite3"), "--no-clock"]) == 0
    err = capsys.readouterr().err
    assert f"the device lost 1 session before it was synced: {DEVICE}-1-1 (evicted-unsynced)" in err, err


@pytest.mark.parametrize("share", ["34%", []])  # a list once failed the whole sync as a damaged store
def test_a_record_with_a_field_of_the_wrong_kind_is_kept_said_at_sync_and_left_out_after(tmp_path, records, capsys,
                                                                                       share):
    """A device that sends a share as text, say: the laptop keeps what it
    sent (and acknowledges it), says so at sync, and every command after
    leaves that one session out with one warning line."""
    from talkbalance.cli import main

    bad = json.loads(json.dumps(records[1]))
    bad["talkers"][0]["share"] = share
    root = device_store(str(tmp_path / "flash"), [records[0], bad])
    db = tmp_path / "db.sqlite3"
    result = _sync(root, db)
    assert result.new == 2 and result.unstorable == []
    assert [rid for rid, _ in result.check_problems] == [bad["id"]]
    assert result.check_problems[0][1][0] == f"the commands cannot show it: it has an initiator share that is not one ({share!r})"
    with LocalStore(db) as local:
        assert json.loads(local.record_text(DEVICE, bad["id"])) == bad  # kept as sent
    assert main(["sessions", "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert records[0]["id"] in out and bad["id"] not in out
    assert err == f"talkbalance: warning: session {bad['id']} left out: its stored record has an initiator share " \
                  f"that is not one ({share!r})\n"
