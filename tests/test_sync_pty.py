"""Sync against a device speaking the firmware's own link and store modules
over a real pseudo-terminal (tests/ptydevice.py): sync, re-sync, and syncs
cut at chosen and at random points, then resumed."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from ptydevice import PtyDevice, device_store
from records_fixture import make_record
from talkbalance.device import Device
from talkbalance.errors import LinkError
from talkbalance.localstore import LocalStore
from talkbalance.recordsync import sync

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import store  # noqa: E402  isort: skip

DEVICE = "tb-test"
TIMEOUT = 0.5


@pytest.fixture(scope="module")
def records():
    """Eight session records from the firmware's session engine, 1 to 4 minutes long."""
    out = []
    for i in range(8):
        out.append(make_record(seed=i + 1, share=0.2 + 0.05 * i, seconds=60 + 30 * i, device=DEVICE,
                               boot=i + 1, start=1_700_000_000 + 86_400 * i, heat=i % 3 == 0))
    return out


@pytest.fixture
def flash(tmp_path, records):
    """A device store directory holding the records, none synced."""
    return device_store(str(tmp_path / "flash"), records)


def _sync(dev_rig: PtyDevice, db: Path, retries: int = 1, **kw):
    with Device.connect(dev_rig.path, timeout=TIMEOUT, retries=retries) as dev, LocalStore(db) as local:
        return sync(dev, local, **kw)


def _check_complete(flash_dir: str, db: Path, records: list[dict]) -> None:
    """Every record stored exactly once, equal to the device's, and acked."""
    with LocalStore(db) as local:
        rows = local.all()
        count = local.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    assert count == len(records) == len(rows)
    assert sorted(r.id for r in rows) == sorted(r["id"] for r in records)
    by_id = {r["id"]: r for r in records}
    for row in rows:
        assert row.record == by_id[row.id]
        assert row.device == DEVICE
    st = store.Store(flash_dir)
    listed = st.records()
    st.close()
    assert len(listed) == len(records)
    assert all(r["synced"] for r in listed), [r["id"] for r in listed if not r["synced"]]


def test_sync_then_resync_adds_nothing(flash, tmp_path, records):
    db = tmp_path / "local.sqlite3"
    seen = []
    with PtyDevice(flash, DEVICE) as rig:
        first = _sync(rig, db, progress=lambda *a: seen.append(a), clock=lambda: 1_750_000_000.4)
        assert rig.dev.clock == 1_750_000_000  # the device clock was set from the laptop's
        second = _sync(rig, db)
        sent_gets = rig.dev.gets
    assert first.device == DEVICE and first.on_device == len(records)
    assert first.new == len(records) and first.already == 0 and first.acked == len(records)
    assert first.corrupt == [] and first.clock_set and first.clock_offset_s == 1_600_000_000 - 1_750_000_000
    assert first.bytes == sum(len(json.dumps(r).encode()) for r in records)
    assert sent_gets == len(records)  # the re-sync fetched nothing
    assert second.new == 0 and second.fetched == [] and second.already == len(records) and second.acked == 0
    # progress ends at everything fetched
    assert seen[-1] == (len(records), len(records), first.bytes, first.bytes)
    assert "8 new sessions, 0 already here, 8 acknowledged" in first.summary()
    assert "0 new sessions, 8 already here, 0 acknowledged" in second.summary()
    _check_complete(flash, db, records)


# (device call at which it dies, which call of that kind, nothing stored after the cut?)
CUTS = [
    ("hello", 1, True),
    ("clock-set", 1, True),
    ("list", 1, True),
    ("get", 1, True),
    ("get", 5, True),
    ("ack-before", 1, False),  # stored, not acknowledged
    ("ack-after", 1, False),  # stored and acknowledged, the answer lost
]


@pytest.mark.parametrize("cut_on,count,nothing_stored", CUTS, ids=[f"{c}-{n}" for c, n, _ in CUTS])
def test_sync_cut_at_a_device_call_then_resumed(flash, tmp_path, records, cut_on, count, nothing_stored):
    db = tmp_path / "local.sqlite3"
    with PtyDevice(flash, DEVICE, cut_on=cut_on, cut_on_count=count) as rig:
        with pytest.raises(LinkError, match="lost the device|timeout"):
            _sync(rig, db)
        assert rig.wait_dead()
    with LocalStore(db) as local:
        stored = len(local.all())
    assert stored == (0 if nothing_stored else len(records))
    st = store.Store(flash)
    synced = sum(r["synced"] for r in st.records())
    st.close()
    assert synced == (len(records) if cut_on == "ack-after" else 0)
    with PtyDevice(flash, DEVICE) as rig:
        result = _sync(rig, db)
    assert result.new == (len(records) if nothing_stored else 0)
    assert result.acked == (0 if cut_on == "ack-after" else len(records))
    _check_complete(flash, db, records)


def test_sync_cut_at_random_bytes_then_resumed(flash, tmp_path, records):
    """The device dies after a random number of bytes (mid-frame, mid-chunk,
    anywhere), several times in a row; the last sync completes."""
    scratch = tmp_path / "measure"
    shutil.copytree(flash, scratch)
    with PtyDevice(str(scratch), DEVICE) as rig:
        _sync(rig, tmp_path / "measure.sqlite3")
        total = rig.sent
    assert total > 8 * 1000
    rng = random.Random(7)
    db = tmp_path / "local.sqlite3"
    cuts = sorted(rng.randrange(1, total) for _ in range(6))
    for cut in cuts:
        with PtyDevice(flash, DEVICE, cut_after_bytes=cut) as rig:
            try:
                _sync(rig, db)
            except LinkError as exc:
                assert "lost the device" in str(exc) or "timeout" in str(exc)
            assert rig.sent <= cut
        with LocalStore(db) as local:
            assert len(local.all()) in (0, len(records))  # all or nothing, never some twice
    with PtyDevice(flash, DEVICE) as rig:
        _sync(rig, db)
    _check_complete(flash, db, records)


def test_garbled_chunks_are_fetched_again(flash, tmp_path, records):
    """Bytes flipped on the line: the frame fails its CRC, the host resumes
    from the last good chunk; every record arrives intact."""
    db = tmp_path / "local.sqlite3"
    with PtyDevice(flash, DEVICE) as rig:
        rig.garble_every = 1500  # flip a bit in one byte of 1500 sent
        result = _sync(rig, db, retries=4)
        assert rig.garbled > 3
    assert result.new == len(records) and not result.corrupt
    _check_complete(flash, db, records)


def test_corrupt_records_are_reported_and_skipped(flash, tmp_path, records):
    db = tmp_path / "local.sqlite3"
    st = store.Store(flash)
    st.add(f"{DEVICE}-99-1", b"{not json")
    st.close()
    with PtyDevice(flash, DEVICE) as rig:
        # A flash error that appears after the device started: its store
        # finds it when reading and answers "corrupt".
        victim = records[2]["id"]
        seq = next(r["seq"] for r in rig.store.records() if r["id"] == victim)
        path = Path(flash) / f"{seq:08d}.u"
        raw = bytearray(path.read_bytes())
        raw[40] ^= 0x20
        path.write_bytes(bytes(raw))
        result = _sync(rig, db)
        again = _sync(rig, db)
        listed = {r["id"]: r["synced"] for r in rig.store.records()}
    reasons = dict(result.corrupt)
    assert set(reasons) == {f"{DEVICE}-99-1", victim}
    assert "not JSON" in reasons[f"{DEVICE}-99-1"] and "flash" in reasons[victim]
    assert result.new == len(records) - 1 and result.acked == len(records) - 1
    assert "2 corrupt skipped" in result.summary()
    with LocalStore(db) as local:
        ids = {s.id for s in local.all()}
    assert victim not in ids and f"{DEVICE}-99-1" not in ids and len(ids) == len(records) - 1
    assert listed[f"{DEVICE}-99-1"] is False  # never acknowledged
    assert victim not in listed  # quarantined by the device
    assert [rid for rid, _ in again.corrupt] == [f"{DEVICE}-99-1"] and again.new == 0
