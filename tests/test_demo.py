"""`talkbalance demo`: the whole story, shortened."""

from __future__ import annotations

from talkbalance.cli import main
from talkbalance.localstore import LocalStore


def test_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--minutes", "1", "--speed", "0", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed  # not a terminal: the ring is not drawn, no colour escapes in the log
    assert "4/5 synced" in printed and "1 new session" in printed
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with LocalStore(out / "sessions.sqlite3") as store:
        (stored,) = store.all()
    rec = stored.record
    assert rec["end_reason"] == "stopped" and rec["talkers"][0]["role"] == "initiator"
    assert "ground truth: initiator share" in printed
    assert rec["talkers"][0]["share"] is not None
    # it ends by saying how to look at its session again, and that works
    again = printed.strip().splitlines()[-2]
    assert again == f"look at its session again: talkbalance show {rec['id']} --db {out / 'sessions.sqlite3'}"
    assert main(again.split(": ", 1)[1].split()[1:]) == 0
    assert capsys.readouterr().out.startswith(f"session {rec['id']}  ")


def test_a_negative_seed_is_one_line(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--seed", "-1"]) == 1
    assert capsys.readouterr().err == "talkbalance: --seed must be 0 or more, not -1\n" \
                                      "talkbalance: hint: see `talkbalance demo --help`\n"
    assert not (tmp_path / "demo").exists()
