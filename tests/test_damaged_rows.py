"""Stored sessions whose record cannot be shown: a row edited by hand, a bit
flipped on the disk, or a record a device sent with a field of the wrong
kind. Every command that reads the store leaves such a session out with one
warning line and goes on with the others; none ends in a traceback."""

from __future__ import annotations

import copy
import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records_fixture import make_record
from talkbalance import records
from talkbalance.cli import main
from talkbalance.errors import StoreCorrupt
from talkbalance.localstore import LocalStore, Unstorable

GOOD = make_record(seed=1, boot=1)
OTHER = make_record(seed=2, boot=2)

# every command that reads stored sessions, with the session and partner below
READERS = [
    ["sessions"], ["sessions", "--json"], ["sessions", "--partner", "Sam"],
    ["show", GOOD["id"]], ["show", GOOD["id"], "--json"],
    ["export", "--csv"], ["export", "--json"],
    ["label", GOOD["id"], "--note", "again"],
    ["report", GOOD["id"], "--html"], ["report", "--partner", "Sam", "--html"],
]


def _store(path, damage: str | None = None, date_s=None) -> None:
    """GOOD and OTHER labelled with Sam; `damage`, SQL run on the file after."""
    with LocalStore(path) as store:
        store.add_many([GOOD, OTHER])
        store.label(GOOD["id"], partner="Sam")
        store.label(OTHER["id"], partner="Sam")
    db = sqlite3.connect(path)
    if damage:
        db.execute(damage, (GOOD["id"],))
    if date_s is not None:
        db.execute("UPDATE sessions SET date_s = ?", (date_s,))
    db.commit()
    db.close()


def _run_every_reader(tmp_path, db, capsys) -> list[tuple[list[str], int, str, str]]:
    out = []
    for args in READERS:
        extra = ["-o", str(tmp_path / "r.html")] if args[0] == "report" else []
        status = main([*args, "--db", str(db), *extra])
        cap = capsys.readouterr()
        out.append((args, status, cap.out, cap.err))
    return out


def test_the_firmwares_records_can_be_shown():
    for seed in range(1, 6):
        assert records.shape_problem(make_record(seed=seed, heat=seed % 2 == 0)) is None


@pytest.mark.parametrize("damage, why", [
    ("UPDATE sessions SET record = 'not json' WHERE id = ?", "is not JSON"),
    ("UPDATE sessions SET record = '[1, 2]' WHERE id = ?", "is not a JSON object"),
    ("UPDATE sessions SET record = 'null' WHERE id = ?", "is not a JSON object"),
    ("UPDATE sessions SET record = replace(hex(zeroblob(50000)), '00', '[') WHERE id = ?", "is not JSON"),
    ("UPDATE sessions SET record = x'00ff' WHERE id = ?", "is not JSON"),
    ("UPDATE sessions SET record = json_set(record, '$.talkers[0].share', 'x') WHERE id = ?",
     "has an initiator share that is not one"),
    ("UPDATE sessions SET record = json_remove(record, '$.talkers[1]') WHERE id = ?",
     "does not list the initiator and the partner"),
    ("UPDATE sessions SET record = json_set(record, '$.heat', json('[[1]]')) WHERE id = ?",
     "has a heat that is not a list of rows of numbers"),
    ("UPDATE sessions SET record = json_set(record, '$.end_reason', char(27) || '[2J') WHERE id = ?",
     "has an end_reason that is not one"),
])
def test_a_damaged_row_is_left_out_with_one_warning_and_the_rest_shown(tmp_path, capsys, damage, why):
    db = tmp_path / "s.db"
    _store(db, damage)
    for args, status, out, err in _run_every_reader(tmp_path, db, capsys):
        if args[0] in ("show", "label") or args[:2] == ["report", GOOD["id"]]:
            # the damaged one asked for by name: one error line and its hint
            assert status == 1, args
            assert err.splitlines()[0] == f"talkbalance: session {GOOD['id']} in {db}: its stored record " \
                + err.splitlines()[0].split(" its stored record ", 1)[1]
            assert why in err and len(err.splitlines()) == 2 and "\x1b" not in err
            continue
        assert status == 0, (args, err)
        assert err.splitlines() == [f"talkbalance: warning: session {GOOD['id']} left out: its stored record "
                                    + err.split(" its stored record ", 1)[1].rstrip("\n")], args
        assert why in err and "\x1b" not in err
        assert GOOD["id"] not in out
        if args[0] in ("sessions", "export"):
            assert OTHER["id"] in out, args  # the others still listed


def test_a_date_that_is_not_one_reads_as_unknown(tmp_path, capsys):
    db = tmp_path / "s.db"
    _store(db, date_s=10**14)  # year 3,170,843
    assert main(["sessions", "--db", str(db)]) == 0
    assert capsys.readouterr().out.count("date unknown") == 2
    assert main(["export", "--json", "--db", str(db)]) == 0
    assert [s["date"] for s in json.loads(capsys.readouterr().out)] == [None, None]


def test_the_store_says_which_rows_it_left_out(tmp_path):
    db = tmp_path / "s.db"
    _store(db, "UPDATE sessions SET record = 'not json' WHERE id = ?")
    told = []
    with LocalStore(db, create=False, on_damaged=lambda key, why: told.append((key, why))) as store:
        assert [s.id for s in store.all()] == [OTHER["id"]]
        store.all()
        with pytest.raises(StoreCorrupt, match="is not JSON"):
            store.get(GOOD["id"])
        assert store.damaged == {GOOD["id"]: "is not JSON"}
    assert told == [(GOOD["id"], "is not JSON")]  # once, however often it is read


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)
_PATHS = st.sampled_from([
    ("duration_s",), ("start",), ("talkers",), ("talkers", 0), ("talkers", 1, "role"), ("talkers", 0, "share"),
    ("talkers", 0, "talk_s"), ("talkers", 1, "azimuth_deg"), ("talkers", 0, "turns"), ("talkers", 1, "interruptions"),
    ("talkers", 0, "longest_monologue_s"), ("talkers", 1, "response_gap_s"), ("target_share",), ("band",),
    ("in_band_share",), ("in_band_s",), ("overlap_s",), ("silence_s",), ("speaker_changes_per_min",), ("heat",),
    ("timeline",), ("timeline", 0), ("pacing",), ("pacing", "meeting_s"), ("hearing",), ("hearing", "snr_db"),
    ("hearing", "reliable"), ("end_reason",), ("state",), ("initiator_bound_by",),
])


_GONE = object()  # the field taken out of the record


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=_PATHS, value=_JSON | st.just(_GONE))
def test_a_device_record_with_any_value_anywhere_never_ends_in_a_traceback(tmp_path_factory, capsys, path, value):
    """As sync stores it (LocalStore.add): whatever one field holds, or
    without it, every reader answers with its output or one line, and exit
    status 0 or 1."""
    rec = copy.deepcopy(GOOD)
    node = rec
    for key in path[:-1]:
        node = node[key]
    if value is _GONE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    tmp = tmp_path_factory.mktemp("s")
    db = tmp / "s.db"
    with LocalStore(db) as store:
        store.add(OTHER)
        try:
            store.add(rec)
        except Unstorable:
            return  # sync reports it and keeps it on the device
        store.label(OTHER["id"], partner="Sam")
    for args, status, _out, err in _run_every_reader(tmp, db, capsys):
        assert status in (0, 1), (args, err)
        assert "Traceback" not in err
        for line in err.splitlines():
            assert line.startswith("talkbalance: "), (args, line)
