"""Session dates: true ones, or "date unknown", never an invented date."""

from __future__ import annotations

import sqlite3

from records_fixture import make_record
from talkbalance import dating
from talkbalance.dating import DeviceTime, session_date
from talkbalance.localstore import LocalStore

UNSET = 1_767_225_600  # the simulated device's clock after power-up (2026-01-01)
TRUE_NOW = 1_796_515_200.4  # the laptop at the sync (2026-12-06)


def _rec(boot, session, uptime_s, clock_set, start=UNSET + 100):
    rec = make_record(seconds=60, boot=boot, start=start)
    rec.update(session=session, id=f"{rec['device']}-{boot}-{session}", uptime_s=uptime_s, clock_set=clock_set)
    return rec


def test_a_session_of_this_boot_is_dated_from_the_uptime_since():
    now = DeviceTime(TRUE_NOW, UNSET + 5000, boot=3, uptime_s=5000, clock_set=False)
    rec = _rec(3, 1, uptime_s=1200, clock_set=False)
    assert session_date(rec, now) == (round(TRUE_NOW - 3800), dating.AT_SYNC)
    # the clock was set during this boot after the session: uptime still dates it
    now_set = DeviceTime(TRUE_NOW, round(TRUE_NOW), boot=3, uptime_s=5000, clock_set=True)
    assert session_date(rec, now_set) == (round(TRUE_NOW - 3800), dating.AT_SYNC)


def test_an_earlier_boot_with_an_unset_clock_has_no_date():
    now = DeviceTime(TRUE_NOW, UNSET + 50, boot=4, uptime_s=50, clock_set=False)
    assert session_date(_rec(3, 1, 1200, False), now) == (None, dating.UNKNOWN)
    assert session_date(_rec(3, 1, 1200, False), None) == (None, dating.UNKNOWN)
    # a boot number the device no longer has (uptime larger than now): unknown too
    assert session_date(_rec(4, 1, 900, False), now) == (None, dating.UNKNOWN)


def test_a_set_clock_dates_the_session_itself():
    rec = _rec(3, 1, 1200, True, start=1_790_000_000)
    now = DeviceTime(TRUE_NOW, UNSET, boot=9, uptime_s=5, clock_set=False)
    assert session_date(rec, now) == (1_790_000_000, dating.BY_DEVICE_CLOCK)


def test_schema_one_records_are_dated_by_offset_in_this_boot_or_by_their_clock():
    old = make_record(seconds=60, boot=3, start=UNSET + 100)
    for key in ("uptime_s", "clock_set"):
        old.pop(key, None)
    now = DeviceTime(TRUE_NOW, UNSET + 5000, boot=3, uptime_s=5000, clock_set=False)
    assert session_date(old, now) == (round(UNSET + 100 - (UNSET + 5000 - TRUE_NOW)), dating.AT_SYNC)
    assert session_date(old, None) == (UNSET + 100, dating.BY_DEVICE_CLOCK)


def test_answers_with_missing_or_wrong_fields_date_nothing_by_them():
    now = DeviceTime.from_answer({"time": "x", "boot": True, "uptime_s": None}, TRUE_NOW)
    assert (now.device_s, now.boot, now.uptime_s, now.clock_set, now.offset_s) == (None, None, None, None, None)
    assert session_date(_rec(3, 1, 1200, False), now) == (None, dating.UNKNOWN)


def test_unknown_dates_are_listed_by_boot_and_session_among_dated_ones(tmp_path):
    dated_early = _rec(1, 1, 10, True, start=1_790_000_000)
    unknown_a = _rec(2, 1, 10, False)
    unknown_b = _rec(2, 2, 4000, False)
    dated_late = _rec(3, 1, 10, True, start=1_790_500_000)
    other = _rec(1, 1, 10, True, start=1_790_100_000)
    other.update(device="other", id="other-1-1")
    with LocalStore(tmp_path / "s.db") as store:
        for rec in (dated_late, unknown_b, other, unknown_a, dated_early):
            store.add(rec)
        rows = store.all()
    assert [(s.device, s.record["boot"], s.record["session"]) for s in rows] == [
        (dated_early["device"], 1, 1), (dated_early["device"], 2, 1), (dated_early["device"], 2, 2),
        ("other", 1, 1), (dated_early["device"], 3, 1)]
    assert [s.date_s for s in rows] == [1_790_000_000, None, None, 1_790_100_000, 1_790_500_000]
    assert rows[1].date_how == dating.UNKNOWN


def test_a_version_one_store_keeps_its_dates(tmp_path):
    path = tmp_path / "old.db"
    rec = make_record(seconds=60, start=1_780_000_000)
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE sessions (device TEXT NOT NULL, id TEXT NOT NULL, start INTEGER NOT NULL,
            duration_s REAL NOT NULL, initiator_share REAL, record TEXT NOT NULL, stored_at INTEGER NOT NULL,
            PRIMARY KEY (device, id));
        CREATE TABLE labels (device TEXT NOT NULL, id TEXT NOT NULL, partner TEXT, note TEXT, follow_up INTEGER,
            PRIMARY KEY (device, id));
        PRAGMA user_version = 1;
    """)
    import json

    db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
               (rec["device"], rec["id"], rec["start"], 60.0, 0.3, json.dumps(rec), 1))
    db.commit()
    db.close()
    with LocalStore(path) as store:
        (row,) = store.all()
    assert (row.date_s, row.date_how) == (1_780_000_000, dating.BY_DEVICE_CLOCK)
