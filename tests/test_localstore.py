"""The laptop's SQLite session store and the commands that read it."""

from __future__ import annotations

import json
import os
import stat

import pytest
from records_fixture import make_record
from talkbalance.cli import main
from talkbalance.errors import InputError, StoreCorrupt
from talkbalance.localstore import LocalStore


def test_store_is_owner_only_and_versioned(tmp_path):
    path = tmp_path / "data" / "s.sqlite3"
    with LocalStore(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_same_record_is_never_stored_twice(tmp_path):
    recs = [make_record(seed=1), make_record(seed=2, boot=2)]
    with LocalStore(tmp_path / "s.db") as store:
        assert store.add_many(recs) == 2
        assert store.add_many(recs) == 0
        assert store.add_many([dict(recs[0], device="other")]) == 1
        assert len(store.all()) == 3


def test_labels_and_partner_filter(tmp_path):
    a, b = make_record(seed=1, boot=1), make_record(seed=2, boot=2)
    with LocalStore(tmp_path / "s.db") as store:
        store.add_many([a, b])
        store.label(a["id"], partner="Sam", follow_up=True)
        store.label(a["id"], note="went well")
        s = store.get(a["id"])
        assert (s.partner, s.note, s.follow_up) == ("Sam", "went well", True)
        assert [r.id for r in store.all("Sam")] == [a["id"]]
        with pytest.raises(InputError):
            store.get("nope")


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    with LocalStore(path) as store:
        store.db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreCorrupt):
        LocalStore(path)


def test_not_a_database_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    assert main(["sessions", "--db", str(path)]) == 1
    assert "not a talkbalance session store" in capsys.readouterr().err


def test_sessions_show_label_export_commands(tmp_path, capsys):
    db = str(tmp_path / "s.db")
    rec = make_record(seed=3)
    with LocalStore(db) as store:
        store.add_many([rec])
    assert main(["sessions", "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["record"] for s in listed] == [rec] and listed[0]["id"] == rec["id"]
    assert main(["label", rec["id"], "--db", db, "--partner", "Alex", "--no-follow-up"]) == 0
    capsys.readouterr()
    assert main(["sessions", "--db", db]) == 0
    out = capsys.readouterr().out
    assert rec["id"] in out and "Alex" in out
    assert main(["show", rec["id"], "--db", db]) == 0
    out = capsys.readouterr().out
    share = rec["talkers"][0]["share"]
    assert f"{100 * share:.0f}%" in out and "not agreed" in out
    assert main(["export", "--csv", "--db", db]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(rec["id"]) and ",Alex,,0," in lines[1]
    assert main(["show", "missing", "--db", db]) == 1
    assert "no session 'missing'" in capsys.readouterr().err


def test_db_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TALKBALANCE_DB", str(tmp_path / "env.db"))
    assert main(["sessions"]) == 1  # read commands never make a store
    assert "no session store at " + str(tmp_path / "env.db") in capsys.readouterr().err
    with LocalStore() as store:
        store.add_many([make_record(seed=4)])
    assert main(["sessions"]) == 0
    assert make_record(seed=4)["id"] in capsys.readouterr().out
