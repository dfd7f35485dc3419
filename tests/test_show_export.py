"""What `show`, `sessions` and `export` print: dates in local time (ISO 8601
in CSV and JSON), "date unknown" for a session without one, labels wherever
a session is shown or exported, plain words (plurals, no None, no raw
keys)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from records_fixture import make_record
from talkbalance.cli import main
from talkbalance.localstore import LocalStore
from talkbalance.records import IN_BAND_NA, format_record

START = 1_767_600_000  # 2026-01-05, a device whose clock was set


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "s.db")
    dated = make_record(seed=3, seconds=400, boot=1, start=START)
    short = make_record(seed=4, seconds=120, boot=2, start=START + 86_400)
    undated = make_record(seed=5, seconds=90, boot=3, start=1_767_225_600, clock_set=False, uptime_s=50)
    with LocalStore(path) as st:
        st.add_many([dated, short, undated])
        st.label(dated["id"], partner="Sam", note="went, well", follow_up=True)
    return path, dated, short, undated


def _local(ts: int) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def test_show_gives_date_labels_and_plain_words(db, capsys):
    path, dated, short, undated = db
    assert main(["show", dated["id"], "--db", path]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"session {dated['id']}  {_local(START)}  duration 6:40, ended by a long press\n")
    assert "with Sam; follow-up agreed; note: went, well" in out
    assert main(["show", undated["id"], "--db", path]) == 0
    out = capsys.readouterr().out
    assert f"session {undated['id']}  date unknown  duration" in out
    assert "with (no partner labelled); follow-up not recorded" in out
    assert main(["show", short["id"], "--db", path]) == 0
    out = capsys.readouterr().out
    assert f"time in band {IN_BAND_NA}" in out
    for text in (out,):
        assert "None" not in text and "(s)" not in text and "_" not in text.split("\n", 1)[1]


@pytest.mark.parametrize("n, words", [(0, "0 interruptions"), (1, "1 interruption"), (2, "2 interruptions")])
def test_plurals(n, words):
    rec = make_record(seed=3, seconds=120)
    rec["talkers"][0]["interruptions"] = n
    rec["talkers"][0]["turns"] = n
    rec["heat"] = [[10, 20]] * n
    lines = format_record(rec).splitlines()
    assert lines[1].endswith(f", {n} turn{'' if n == 1 else 's'}, longest 0:{lines[1].split('longest 0:')[1][:2]}, "
                             + words)
    assert lines[4].endswith(f", {n} heated passage{'' if n == 1 else 's'}")


def test_json_everywhere_carries_date_and_labels(db, capsys):
    path, dated, _short, undated = db
    assert main(["show", dated["id"], "--db", path, "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert (one["partner"], one["note"], one["follow_up"]) == ("Sam", "went, well", True)
    assert datetime.fromisoformat(one["date"]).timestamp() == START
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", one["date"])
    assert one["record"] == dated
    for command in (["sessions"], ["export"]):
        assert main([*command, "--db", path, "--json"]) == 0
        listed = {s["id"]: s for s in json.loads(capsys.readouterr().out)}
        assert listed[dated["id"]] == one
        assert listed[undated["id"]]["date"] is None and listed[undated["id"]]["partner"] is None


def test_csv_has_iso_dates_and_labels(db, capsys):
    path, dated, short, undated = db
    assert main(["export", "--csv", "--db", path]) == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert datetime.fromisoformat(rows[dated["id"]]["date"]).timestamp() == START
    assert datetime.fromisoformat(rows[short["id"]]["date"]).timestamp() == START + 86_400
    assert rows[undated["id"]]["date"] == ""
    assert (rows[dated["id"]]["partner"], rows[dated["id"]]["note"], rows[dated["id"]]["follow_up"]) == \
        ("Sam", "went, well", "1")


@pytest.mark.parametrize("typed, cell", [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("+1 555", "'+1 555"),
    ("-2", "'-2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("Sam = Samuel", "Sam = Samuel"),
    ("it's fine", "it's fine"),
])
def test_csv_labels_that_look_like_formulas_stay_text(db, capsys, typed, cell):
    path, dated, _short, _undated = db
    with LocalStore(path) as st:
        st.label(dated["id"], partner=typed, note=typed)
    assert main(["export", "--csv", "--db", path]) == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert (rows[dated["id"]]["partner"], rows[dated["id"]]["note"]) == (cell, cell)
    assert main(["export", "--json", "--db", path]) == 0  # JSON keeps them as typed
    assert [r["partner"] for r in json.loads(capsys.readouterr().out) if r["id"] == dated["id"]] == [typed]


def test_sessions_list_shows_local_dates(db, capsys):
    path, dated, _short, undated = db
    assert main(["sessions", "--db", path]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert _local(START) in lines[dated["id"]] and lines[dated["id"]].endswith("Sam")
    assert "date unknown" in lines[undated["id"]]
