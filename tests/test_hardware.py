"""hardware/: the wiring table, diagram and enclosure parameters are generated
from the board file and match it; the enclosure builds. (The board module's
type check against the ESP32 stubs is in test_static.py, with the rest of the
firmware.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from talkbalance import boardfile, paths, wiringdocs
from talkbalance.cli import main
from talkbalance.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
HARDWARE = ROOT / "hardware"


def _default() -> dict:
    return json.loads(paths.board_path().read_text())


def _load(tmp_path: Path, desc: dict) -> dict:
    path = tmp_path / "board.json"
    path.write_text(json.dumps(desc))
    return boardfile.load(path)


def test_committed_files_match_the_board_file():
    assert wiringdocs.drift(boardfile.load(), HARDWARE) == [], "run: talkbalance wiring --out hardware/"


def test_regenerating_is_byte_identical(tmp_path):
    desc = boardfile.load()
    assert main(["wiring", "--out", str(tmp_path)]) == 0
    for rel in wiringdocs.outputs(desc):
        assert (tmp_path / rel).read_bytes() == (HARDWARE / rel).read_bytes(), rel


def test_check_reports_drift(tmp_path, capsys):
    desc = _default()
    (tmp_path / "board.json").write_text(json.dumps(desc))
    assert main(["wiring", "--board", str(tmp_path / "board.json"), "--out", str(tmp_path)]) == 0
    assert main(["wiring", "--board", str(tmp_path / "board.json"), "--check"]) == 0
    desc["ring"]["pin"] = 40
    (tmp_path / "board.json").write_text(json.dumps(desc))
    capsys.readouterr()
    assert main(["wiring", "--board", str(tmp_path / "board.json"), "--check"]) == 1
    err = capsys.readouterr().err
    assert "wiring.md" in err and "wiring.svg" in err and "talkbalance wiring --out" in err


def test_table_follows_every_pin_and_slot():
    desc = boardfile.load()
    text = wiringdocs.wiring_markdown(desc)
    for bus in desc["i2s"]:
        left, right = bus["channels"]
        for ch, tie in ((left, "GND"), (right, "3V3")):
            rows = [r for r in text.splitlines() if r.startswith(f"| mic ch{ch} ")]
            cells = {r.split("|")[2].strip(): r.split("|")[3].strip() for r in rows}
            assert cells["SCK"] == f"GPIO{bus['sck']}"
            assert cells["WS"] == f"GPIO{bus['ws']}"
            assert cells["SD"] == f"GPIO{bus['sd']}"
            assert cells["L/R"] == tie
    assert f"| ring | DIN | GPIO{desc['ring']['pin']} |" in text
    assert f"| button | 1 | GPIO{desc['button']['pin']} |" in text
    svg = wiringdocs.wiring_svg(desc)
    for pin in [desc["ring"]["pin"], desc["button"]["pin"]] + [b["sd"] for b in desc["i2s"]]:
        assert f">GPIO{pin}<" in svg


def test_a_changed_board_changes_every_output(tmp_path):
    desc = _default()
    desc["ring"].update(count=12, pin=40, direction="cw", led0_azimuth_deg=90.0)
    desc["mics"] = desc["mics"][:2]
    desc["mics"][0]["x_m"] = 0.06
    desc["i2s"] = desc["i2s"][:1]
    desc["pairs"] = desc["pairs"][:1]
    loaded = _load(tmp_path, desc)
    out = wiringdocs.outputs(loaded)
    table = out["wiring.md"]
    assert "| ring | DIN | GPIO40 |" in table
    assert "| 11 | " in table and "| 12 | " not in table.split("## Ring")[1].split("## Power")[0]
    # LED 1 of a clockwise ring with LED 0 at 90 degrees sits at 60 degrees
    assert "| 1 | 60.0 |" in table
    assert "| 0 | X+ | +60.0 | +0.0 |" in table
    assert "mic ch2" not in table
    scad = out["enclosure/board_params.scad"]
    assert "mics = [[60.00, 0.00, 0], [-50.00, 0.00, 1]];" in scad
    assert "ring_count = 12;" in scad and "ring_dir = -1;" in scad
    assert "ring_od = 37.00;" in scad
    assert out["wiring.svg"].count('r="7" fill="#1f77b4"/>') == 2  # two microphones drawn


def test_power_budget_fits_usb():
    desc = boardfile.load()
    budget = wiringdocs.power_budget(desc)
    assert budget["total_ma"] < wiringdocs.USB_BUDGET_MA
    ring = desc["ring"]
    want = ring["count"] * (3 * 20.0 * ring["max_brightness"] / 255 + 1.0)
    assert budget["leds_capped_ma"] == pytest.approx(want)
    assert ring["max_brightness"] <= wiringdocs.max_safe_brightness(desc)
    # a 24-LED ring needs a lower cap than the 16-LED default of 64
    big = dict(desc, ring=dict(ring, count=24))
    cap = wiringdocs.max_safe_brightness(big)
    assert cap < 64
    assert wiringdocs.power_budget(dict(big, ring=dict(big["ring"], max_brightness=cap)))["total_ma"] <= 500
    assert wiringdocs.power_budget(dict(big, ring=dict(big["ring"], max_brightness=cap + 1)))["total_ma"] > 500


@pytest.mark.parametrize("value, ok", [(0, True), (8000, True), (60000, True), (500, False), (70000, False),
                                       ("8000", False)])
def test_wdt_ms_is_validated(tmp_path, value, ok):
    desc = _default()
    desc["wdt_ms"] = value
    if ok:
        assert _load(tmp_path, desc)["wdt_ms"] == value
    else:
        with pytest.raises(InputError, match="wdt_ms"):
            _load(tmp_path, desc)


@pytest.mark.skipif(shutil.which("openscad") is None, reason="openscad not installed (apt-get install openscad)")
def test_enclosure_builds_and_its_ports_follow_the_board_file(tmp_path):
    desc = _default()
    desc["mics"][2]["y_m"] = 0.055  # move one microphone: the port must follow
    loaded = _load(tmp_path, desc)
    shutil.copy(HARDWARE / "enclosure" / "talkbalance.scad", tmp_path)
    (tmp_path / "board_params.scad").write_text(wiringdocs.scad_params(loaded))
    stl = tmp_path / "lid.stl"
    proc = subprocess.run(["openscad", "-o", str(stl), "-D", 'part="lid"', "-D", "$fn=16",
                           str(tmp_path / "talkbalance.scad")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert stl.stat().st_size > 10000
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    ports = {}
    for ch, x, y in re.findall(r'ECHO: "mic_port ch(\d+) x (\S+) y (\S+)"', proc.stderr):
        ports[int(ch)] = (float(x), float(y))
    want = {m["channel"]: (m["x_m"] * 1000, m["y_m"] * 1000) for m in loaded["mics"]}
    assert ports.keys() == want.keys()
    for ch, (x, y) in want.items():
        assert ports[ch] == pytest.approx((x, y), abs=1e-6)
    base = subprocess.run(["openscad", "-o", str(tmp_path / "base.stl"), "-D", 'part="base"', "-D", "$fn=16",
                           str(tmp_path / "talkbalance.scad")], capture_output=True, text=True, timeout=300)
    assert base.returncode == 0 and (tmp_path / "base.stl").stat().st_size > 1000, base.stderr
