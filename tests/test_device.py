"""Device tier: the board module and the self-test on a real board.

Run with the firmware deployed (hardware/assembly.md):

    .venv/bin/python -m pytest -m device --port /dev/ttyACM0 tests/test_device.py

Each test runs a few lines on the board through `mpremote exec` (which stops
the running app first) and asserts on the JSON they print. Without --port
the tests are skipped (tests/conftest.py). TB_DEVICE_INTERACTIVE=1 adds the
tap and button checks, which need a person at the puck.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.device

_PREFIX = "from tbfw import board_esp32 as B, selftest as S\nimport json\nb = B.make()\n"
_INTERACTIVE = os.environ.get("TB_DEVICE_INTERACTIVE") == "1"


@pytest.fixture(scope="module")
def port(request):
    value = request.config.getoption("--port")
    if not value:
        pytest.skip("needs a real board: pass --port PORT")
    return value


def _run(port: str, body: str, timeout: float = 120) -> dict:
    """Run `body` after _PREFIX on the board; it must print('@@' + json)."""
    cmd = [sys.executable, "-m", "mpremote", "connect", port, "exec", _PREFIX + body]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in proc.stdout.splitlines():
        if line.startswith("@@"):
            return json.loads(line[2:])
    raise AssertionError("no result line from the board:\n" + proc.stdout + proc.stderr)


def test_board_file_on_device_is_valid_and_ids_are_sane(port):
    out = _run(port, "print('@@' + json.dumps({'id': b.device_id(), 'channels': b.desc['channels'], "
                     "'ring': b.desc['ring']['count']}))")
    assert len(out["id"]) == 12 and int(out["id"], 16) > 0
    assert out["channels"] in (2, 4)
    assert out["ring"] >= 1


def test_every_microphone_is_live_and_nothing_is_lost(port):
    out = _run(port, "print('@@' + json.dumps(S.mic_levels(b, frames=100)))")
    assert not out["mic_fault"], out
    assert out["lost_samples"] == 0, out
    for ch in out["channels"]:
        assert not ch["stuck"], ch
        # a live INMP441 shows its noise floor; a dead line reads -120
        assert -110 < ch["rms_dbfs"] < -10, ch
    levels = [ch["rms_dbfs"] for ch in out["channels"]]
    assert max(levels) - min(levels) < 12, levels  # no leaking port or dead capsule


def test_reads_keep_up_for_five_seconds(port):
    body = (
        "import time\n"
        "b.start_audio(b.desc['sample_rate_hz'] // 50)\n"
        "t0 = time.ticks_ms(); n = 0\n"
        "while time.ticks_diff(time.ticks_ms(), t0) < 5000:\n"
        "    b.read_frame(); n += 1\n"
        "print('@@' + json.dumps({'frames': n, 'lost': b.lost_samples, 'fault': b.mic_fault}))\n"
    )
    out = _run(port, body)
    assert 240 <= out["frames"] <= 260, out  # 50 frames/s, paced by the audio
    assert out["lost"] == 0 and not out["fault"], out


def test_rtc_round_trip(port):
    now = int(time.time())
    out = _run(port, f"b.set_time({now})\nprint('@@' + json.dumps({{'t': b.time()}}))")
    assert abs(out["t"] - now) <= 3


def test_led_walk_and_flash(port):
    walk = _run(port, "print('@@' + json.dumps(S.led_walk(b, step_ms=40)))")
    assert walk["leds"] >= 1
    flash = _run(port, "print('@@' + json.dumps(S.flash_check(b)))")
    assert flash["ok"], flash


def test_frame_cost_fits_the_frame(port):
    out = _run(port, "print('@@' + json.dumps(S.frame_cost(b, frames=100)))")
    assert out["mean_us"] < out["budget_us"], out
    assert out["lost_samples"] == 0, out


@pytest.mark.skipif(not _INTERACTIVE, reason="needs a person: set TB_DEVICE_INTERACTIVE=1")
def test_tap_each_microphone_in_turn(port):
    print("\ntap the lid next to the lit LED's microphone, one after the other")
    out = _run(port, "print('@@' + json.dumps([S.tap_check(b, c, 15000) for c in range(b.desc['channels'])]))",
               timeout=300)
    for result in out:
        assert result["ok"], out


@pytest.mark.skipif(not _INTERACTIVE, reason="needs a person: set TB_DEVICE_INTERACTIVE=1")
def test_button_press(port):
    print("\npress and release the button")
    out = _run(port, "print('@@' + json.dumps(S.button_check(b, 15000)))", timeout=60)
    assert out["ok"], out
