"""What a person meets when something is wrong: one line `talkbalance: ...`
with a hint, a non-zero exit status, never a traceback, nothing lost.

Read-only files are made read-only for real. When the tests run as root
(who may write anything), the command runs in a child process without the
capabilities that let root ignore file permissions (util-linux `setpriv`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ptydevice import PtyDevice, device_store
from records_fixture import make_record
from talkbalance.cli import main
from talkbalance.device import Device
from talkbalance.errors import StoreCorrupt, StoreUnwritable
from talkbalance.localstore import LocalStore
from talkbalance.recordsync import sync
from talkbalance.text import FILE_STEM_MAX, file_stem, plural, printable

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import store  # noqa: E402  isort: skip

DEVICE = "tb-fail"
_UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown"]


def _cli(args: list[str], *, unprivileged: bool = False, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """Run `talkbalance ARGS` in a child process, as a person would."""
    prefix: list[str] = []
    if unprivileged and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: read-only files cannot be tested")
        prefix = _UNPRIVILEGED
    return subprocess.run(prefix + [sys.executable, "-m", "talkbalance", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def _one_clean_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    err = proc.stderr
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("talkbalance: ") and not lines[0].startswith("talkbalance: hint")
    assert len(lines) == 2 and lines[1].startswith("talkbalance: hint: "), err
    for word in words:
        assert word in lines[0], err
    return lines[0]


@pytest.fixture
def records():
    return [make_record(seed=i + 1, boot=i + 1, seconds=120, device=DEVICE, start=1_700_000_000 + 86_400 * i)
            for i in range(6)]


@pytest.fixture
def db(tmp_path, records) -> Path:
    path = tmp_path / "store" / "sessions.sqlite3"
    with LocalStore(path) as st:
        st.add_many(records)
    return path


def _corrupt_sessions_table(path: Path) -> None:
    """Overwrite the root page of the sessions table with garbage."""
    con = sqlite3.connect(path)
    page = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sessions'").fetchone()[0]
    size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(path, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xa5" * size)


@pytest.mark.parametrize("args", [["sessions"], ["show", f"{DEVICE}-1-1"], ["export", "--csv"],
                                  ["export", "--json"], ["label", f"{DEVICE}-1-1", "--partner", "Sam"],
                                  ["report", f"{DEVICE}-1-1"], ["report", "--partner", "Sam"]])
def test_a_damaged_store_is_one_line_for_every_command(db, tmp_path, args, capsys):
    with LocalStore(db) as st:
        st.label(f"{DEVICE}-2-1", partner="Sam")
    _corrupt_sessions_table(db)
    os.chdir(tmp_path)
    assert main([*args, "--db", str(db)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0] == f"talkbalance: the session store {db} is damaged (database disk image is malformed)"
    assert lines[1].startswith("talkbalance: hint: restore the file from a backup")
    assert captured.out == ""


def _flash_with(tmp_path: Path, records: list[dict]) -> str:
    return device_store(str(tmp_path / "flash"), records)


def _unsynced_on_device(flash: str) -> set[str]:
    st = store.Store(flash)
    try:
        return {r["id"] for r in st.records() if not r["synced"]}
    finally:
        st.close()


def test_sync_into_a_damaged_store_takes_nothing_and_acknowledges_nothing(db, tmp_path, records):
    _corrupt_sessions_table(db)
    flash = _flash_with(tmp_path, records)
    with PtyDevice(flash, DEVICE) as rig, Device.connect(rig.path, timeout=1) as dev:
        with LocalStore(db) as local, pytest.raises(StoreCorrupt):
            sync(dev, local)
        assert not any(r["synced"] for r in dev.list_records())
    assert _unsynced_on_device(flash) == {r["id"] for r in records}


def test_sync_that_cannot_store_acknowledges_nothing(tmp_path, records):
    """SQLite itself refuses the write (the connection is read-only): the
    sync fails with one line and every record stays unsynced on the device;
    the next sync into a writable store takes them all."""
    flash = _flash_with(tmp_path, records)
    path = tmp_path / "local.sqlite3"
    with PtyDevice(flash, DEVICE) as rig:
        with Device.connect(rig.path, timeout=1) as dev, LocalStore(path) as local:
            local.db.execute("PRAGMA query_only = ON")
            with pytest.raises(StoreUnwritable, match="read-only"):
                sync(dev, local)
            assert not any(r["synced"] for r in dev.list_records())
        with Device.connect(rig.path, timeout=1) as dev, LocalStore(path) as local:
            again = sync(dev, local)
    assert again.new == len(records) and again.acked == len(records)
    assert _unsynced_on_device(flash) == set()


def test_read_only_store_refuses_label_in_one_line(db):
    os.chmod(db, 0o400)
    proc = _cli(["label", f"{DEVICE}-1-1", "--partner", "Sam", "--db", str(db)], unprivileged=True)
    _one_clean_error(proc, "read-only", str(db))
    os.chmod(db, 0o600)
    with LocalStore(db) as st:
        assert st.get(f"{DEVICE}-1-1").partner is None
        assert len(st.all()) == 6


def test_sync_cannot_make_a_store_in_a_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    proc = _cli(["sync", "--port", "loop://", "--timeout", "0.2", "--db", str(folder / "new" / "s.db")],
                unprivileged=True)
    # loop:// echoes the request: no device answers, so the link fails first
    # and no store is made; the store's own refusal is checked below.
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert not (folder / "new").exists()
    code = ("from talkbalance.localstore import LocalStore\n"
            "from talkbalance.errors import TalkbalanceError\n"
            "try:\n"
            f"    LocalStore({str(folder / 'new' / 's.db')!r})\n"
            "except TalkbalanceError as exc:\n"
            "    print(type(exc).__name__, exc, '|', exc.hint)\n")
    prefix = _UNPRIVILEGED if os.geteuid() == 0 else []
    out = subprocess.run(prefix + [sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.startswith(f"StoreUnwritable cannot make the session store {folder / 'new' / 's.db'}: "
                          "Permission denied | use --db"), out


def test_report_into_a_read_only_folder_is_one_line(db, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    proc = _cli(["report", f"{DEVICE}-1-1", "--db", str(db), "-o", str(folder / "r.png")], unprivileged=True)
    _one_clean_error(proc, "cannot write the report to", "Permission denied")
    assert list(folder.iterdir()) == []


def test_read_commands_refuse_a_store_that_does_not_exist(tmp_path, capsys):
    typo = tmp_path / "sesions" / "s.sqlite3"
    for args in (["sessions"], ["show", "x"], ["export", "--csv"], ["label", "x", "--partner", "Sam"],
                 ["report", "x"]):
        assert main([*args, "--db", str(typo)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"talkbalance: no session store at {typo}\ntalkbalance: hint: check --db")
    assert not typo.parent.exists()


def test_sync_makes_the_store_and_says_where(tmp_path, records, capsys):
    flash = _flash_with(tmp_path, records[:2])
    path = tmp_path / "new" / "sessions.sqlite3"
    with PtyDevice(flash, DEVICE) as rig:
        assert main(["sync", "--port", rig.path, "--db", str(path), "--timeout", "1"]) == 0
    captured = capsys.readouterr()
    assert f"talkbalance: made a new session store at {path}" in captured.err
    assert "2 new sessions" in captured.out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_partner_names_match_whatever_their_case(db, tmp_path, capsys):
    assert main(["label", f"{DEVICE}-1-1", "--partner", "Sam", "--db", str(db)]) == 0
    assert main(["label", f"{DEVICE}-2-1", "--partner", "SAM", "--db", str(db)]) == 0
    assert main(["sessions", "--partner", "sam", "--db", str(db), "--json"]) == 0
    capsys.readouterr()
    with LocalStore(db) as st:
        assert [s.id for s in st.all("sAm")] == [f"{DEVICE}-1-1", f"{DEVICE}-2-1"]
        assert st.partners() == ["SAM"]
    os.chdir(tmp_path)
    assert main(["report", "--partner", "sam", "--db", str(db)]) == 0
    assert "Meetings with Sam: 2 meetings" in capsys.readouterr().out  # as the first was labelled


def test_labels_are_printed_with_control_characters_escaped(db, capsys):
    evil = "Sam\x1b[2J\x1b]0;owned\x07\nnext\u202e"
    assert main(["label", f"{DEVICE}-1-1", "--partner", evil, "--note", "a\rb", "--db", str(db)]) == 0
    assert main(["sessions", "--db", str(db)]) == 0
    assert main(["show", f"{DEVICE}-1-1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    assert "Sam\\x1b[2J\\x1b]0;owned\\x07\\nnext\\u202e" in out and "a\\rb" in out
    with LocalStore(db) as st:
        assert st.get(f"{DEVICE}-1-1").partner == evil  # kept as typed


def test_a_very_long_label_gives_a_bounded_file_name(db, tmp_path, capsys):
    # `label` takes up to 100 characters (below); a store labelled by another
    # version or through the library can hold any length
    long_name = "Alexandra " * 100 + "/../\x00?*"
    with LocalStore(db) as st:
        st.label(f"{DEVICE}-1-1", long_name)
    os.chdir(tmp_path)
    assert main(["report", "--partner", long_name, "--db", str(db)]) == 0
    written = [p.name for p in tmp_path.glob("talkbalance-*.png")]
    assert len(written) == 1 and len(written[0]) <= len("talkbalance-.png") + FILE_STEM_MAX
    assert written[0].startswith("talkbalance-Alexandra-Alexandra-")


def test_output_cut_short_by_its_reader_ends_quietly(db):
    """`talkbalance sessions | head -0`: the reader has gone before the
    first line is written."""
    proc = subprocess.Popen([sys.executable, "-m", "talkbalance", "sessions", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


def test_text_helpers():
    assert plural(1, "interruption") == "1 interruption"
    assert plural(0, "heated passage") == "0 heated passages"
    assert plural(2, "person", "people") == "2 people"
    assert printable("a\tb\\c\x9b") == "a\\tb\\\\c\\x9b"
    assert printable(None) == ""
    assert file_stem("Zoë O'Brien") == "Zoe-O-Brien"
    assert file_stem("../..") == "unnamed" and file_stem("\x1b") == "unnamed"
    assert len(file_stem("x" * 1000)) == FILE_STEM_MAX


def test_a_new_user_without_a_store_is_told_to_sync(tmp_path, monkeypatch, capsys):
    from talkbalance import localstore

    monkeypatch.delenv("TALKBALANCE_DB", raising=False)
    monkeypatch.setattr(localstore, "default_path", lambda: tmp_path / "data" / "sessions.sqlite3")
    from talkbalance.commands import _common

    monkeypatch.setattr(_common, "default_path", localstore.default_path)
    assert main(["sessions"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"talkbalance: no sessions stored yet ({tmp_path / 'data' / 'sessions.sqlite3'} does not "
                          "exist)\ntalkbalance: hint: sync a puck with: talkbalance sync")
    assert not (tmp_path / "data").exists()


# --- evaluate --scene with a truth that is not the recording's -----------------------

@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    (b"\xd9\x00 not text", "not JSON"),
    (b"[1, 2]", "a JSON list"),
    (b'{"frames": "0"}', "'talkers'"),
])
def test_evaluate_with_a_bad_truth_is_one_line(tmp_path, content, words):
    truth = tmp_path / "t.json"
    if content is not None:
        truth.write_bytes(content)
    proc = _cli(["evaluate", "--scene", str(tmp_path / "any.wav"), str(truth)])
    _one_clean_error(proc, str(truth), words)


def test_evaluate_with_another_recordings_truth_is_one_line(tmp_path):
    import numpy as np
    from wavmake import encode, wav_bytes
    wav = tmp_path / "short.wav"
    wav.write_bytes(wav_bytes(encode(np.zeros((16000 * 3, 4), np.int16), 16, "int"), 4, 16000, 16))
    truth = tmp_path / "t.json"
    talkers = [{"role": "initiator", "azimuth_deg": 90.0}, {"role": "partner", "azimuth_deg": 270.0}]
    truth.write_text(json.dumps({"frames": "0" * 3000, "frame_ms": 20, "segments": [], "talkers": talkers,
                                 "initiator_share": 0.3}))  # a minute of truth for 3 s of audio
    proc = _cli(["evaluate", "--scene", str(wav), str(truth)])
    _one_clean_error(proc, str(truth), "1:00", "0:03", "not this recording's truth")


def _cli_in(tmp_path: Path, command: list[str], args: list[str]) -> subprocess.CompletedProcess:
    """`talkbalance COMMAND ARGS` with {tmp} in ARGS the test's folder and
    {file} a file that exists there."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    return _cli([*command, *[a.format(tmp=tmp_path, file=afile) for a in args]])


@pytest.mark.parametrize("args, words", [
    (["--scenes", "0"], "--scenes"),
    (["--scenes", "-2"], "--scenes"),
    (["--seed", "-5"], "--seed"),
    (["--minutes", "nan"], "--minutes"),
    (["--cache", "{file}"], "a file, not a folder"),
    (["--markdown", "{tmp}/no/such/folder/x.md"], "no such folder"),
    (["--markdown", "{tmp}"], "a folder"),
    (["--tier", "quiet", "--scene", "a.wav", "b.json"], "one or the other"),
])
def test_evaluate_refuses_bad_arguments_before_any_work(tmp_path, args, words):
    if "--cache" not in args:
        args = [*args, "--cache", str(tmp_path / "cache")]
    proc = _cli_in(tmp_path, ["evaluate"], args)
    _one_clean_error(proc, words)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())  # nothing rendered


@pytest.mark.parametrize("args, words", [
    (["--only", "pipeline", "--markdown", "{tmp}/no/such/folder/b.md"], "no such folder"),
    (["--only", "pipeline", "--against", "no-such-revision"], "not a revision"),
    (["--only", "pipeline", "--against", "HEAD", "--rounds", "0"], "--rounds"),
    (["--only", "accuracy", "--suite", "-1"], "--suite"),
    (["--only", "accuracy", "--minutes", "0"], "--minutes"),
    (["--only", "accuracy", "--jobs", "0"], "--jobs"),
    (["--only", "heap32", "--heap32", "lots"], "--heap32 lots"),
    (["--only", "heap32", "--heap32", "0"], "from 32k"),
    (["--only", "accuracy", "--cache", "{file}"], "a file, not a folder"),
])
def test_bench_refuses_bad_arguments_before_measuring(tmp_path, args, words):
    proc = _cli_in(tmp_path, ["bench"], args)
    assert "running" not in proc.stderr  # no section started
    _one_clean_error(proc, words)


def test_label_bounds_and_clears_its_texts(db, capsys):
    key = f"{DEVICE}-1-1"
    proc = _cli(["label", key, "--partner", "S" * 101, "--db", str(db)])
    _one_clean_error(proc, "--partner", "101 characters", "at most 100")
    proc = _cli(["label", key, "--note", "n" * 1001, "--db", str(db)])
    _one_clean_error(proc, "--note", "at most 1000")
    assert main(["label", key, "--partner", "  " + "S" * 100 + " ", "--note", "kept", "--db", str(db)]) == 0
    with LocalStore(db) as st:
        assert (st.get(key).partner, st.get(key).note) == ("S" * 100, "kept")
    assert main(["label", key, "--partner", "", "--note", " ", "--db", str(db)]) == 0  # cleared
    with LocalStore(db) as st:
        assert (st.get(key).partner, st.get(key).note) == (None, None)
        assert st.partners() == []


def test_sessions_for_a_partner_with_none_says_so_and_names_the_partners(db, capsys):
    assert main(["label", f"{DEVICE}-2-1", "--partner", "Kim", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["sessions", "--partner", "Sam", "--db", str(db)]) == 0
    assert capsys.readouterr().out == "no sessions with partner 'Sam' (partners: Kim)\n"
    assert main(["sessions", "--partner", "kim", "--db", str(db)]) == 0  # any case
    assert f"{DEVICE}-2-1" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--gif", "{tmp}/a.gif", "--seconds", "-1"], "--seconds"),
    (["--gif", "{tmp}/a.gif", "--seconds", "nan"], "--seconds"),
    (["--gif", "{tmp}"], "a folder"),
    (["--png", "{tmp}/no/such/folder/x.png"], "no such folder"),
    (["--gallery", "{file}"], "a file, not a folder"),
    (["--initiator-az", "nan"], "--initiator-az"),
    (["--led0", "inf"], "--led0"),
    (["--elapsed-min", "nan"], "--elapsed-min"),
    (["--meeting-min", "0"], "--meeting-min"),
])
def test_ring_preview_refuses_bad_arguments_in_one_line(tmp_path, args, words):
    proc = _cli_in(tmp_path, ["ring", "--state", "session"], args)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("talkbalance: ") and words in proc.stderr.splitlines()[0], proc.stderr


def test_ring_preview_writes_the_format_asked_for_whatever_the_name(tmp_path):
    assert main(["ring", "--state", "session", "--png", str(tmp_path / "frame"), "--gif", str(tmp_path / "loop.img"),
                 "--seconds", "0.5"]) == 0
    assert (tmp_path / "frame").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "loop.img").read_bytes()[:6] in (b"GIF87a", b"GIF89a")
