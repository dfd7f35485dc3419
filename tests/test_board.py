"""Board file validation on the host (the firmware's own rules, CPython side)."""

from __future__ import annotations

import json

import pytest
from talkbalance import board, paths
from talkbalance.cli import main
from talkbalance.errors import InputError


def _write(tmp_path, desc):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(desc))
    return path


def _default():
    return json.loads(paths.board_path().read_text())


def test_default_board_geometry_matches_design():
    desc = board.load()
    assert board.mic_positions(desc) == [(0.05, 0.0), (-0.05, 0.0), (0.0, 0.05), (0.0, -0.05)]
    assert desc["sample_rate_hz"] == 16000
    assert desc["ring"]["count"] == 16


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b["i2s"][0].pop("sck"), "i2s[0].sck"),
    (lambda b: b["pairs"][0].update(minus=9), "pairs[0].minus"),
    (lambda b: b["ring"].update(count=0), "ring.count"),
    (lambda b: b["ring"].update(direction="up"), "ring.direction"),
    (lambda b: b["mics"].pop(), "mics"),
    (lambda b: b["pairs"][0].update(minus=2), "pairs[0]."),
    (lambda b: b["button"].update(pin=b["ring"]["pin"]), "button.pin"),
])
def test_invalid_boards_are_rejected_naming_the_field(tmp_path, mutate, field):
    desc = _default()
    mutate(desc)
    with pytest.raises(InputError) as err:
        board.load(_write(tmp_path, desc))
    assert field in str(err.value)


def test_one_pair_board_is_valid(tmp_path):
    desc = _default()
    desc["mics"] = desc["mics"][:2]
    desc["i2s"] = desc["i2s"][:1]
    desc["pairs"] = desc["pairs"][:1]
    loaded = board.load(_write(tmp_path, desc))
    assert loaded["channels"] == 2


def test_cli_board_prints_summary(capsys):
    assert main(["board"]) == 0
    out = capsys.readouterr().out
    assert "16 LEDs" in out and "spacing 100.0 mm" in out


def test_cli_reports_bad_board_in_one_line(tmp_path, capsys):
    path = tmp_path / "b.json"
    path.write_text("{not json")
    assert main(["board", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("talkbalance: board file") and "not valid JSON" in err
