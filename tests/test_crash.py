"""Never dead at the prompt: crashes on the simulated device (tbfw.crash).

The firmware is the real one; only main.py is replaced by one that breaks
the app on purpose, then runs it with tbfw.app.main() as the shipped main.py
does.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from talkbalance import devicesim
from talkbalance.fw import wire  # noqa: F401  (puts the firmware on the path)
from tbfw import ring
from test_sim import MPREMOTE, Port

_IN_THE_LOOP = '''
import os
from tbfw import app

_step = app.App.step


def step(self):
    if self.frames == 50:
        try:
            os.stat("crash.log")
        except OSError:  # the first run only: after the reset it runs on
            raise RuntimeError("injected in the frame loop")
    return _step(self)


app.App.step = step
app.main()
'''

_AT_BOOT = '''
from tbfw import app


def broken(self, board):
    raise ValueError("injected at boot")


app.App.__init__ = broken
app.main()
'''


def _device(tmp_path: Path, main: str) -> devicesim.SimDevice:
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash)
    (flash / "main.py").write_text(main)
    return devicesim.SimDevice(flash, leds=tmp_path / "leds.log", log=tmp_path / "device.log")


def _error_frames(path: Path) -> int:
    """LED frames of the error pattern: the whole ring in the fault colour."""
    count = 0
    for line in path.read_text().splitlines():
        grb = bytes.fromhex(line.split()[1])
        pixels = [grb[i:i + 3] for i in range(0, len(grb), 3)]
        if all(p == pixels[0] for p in pixels) and pixels[0][1] > 0 and pixels[0][1] > 2 * pixels[0][0]:
            count += 1  # every LED alike, red (GRB: index 1) well above green
    return count


def test_a_crash_in_the_frame_loop_is_logged_shown_and_reset(tmp_path):
    with _device(tmp_path, _IN_THE_LOOP) as dev:
        dev.wait_restart(1, timeout=30)
        assert dev.restarts == 1 and dev.exit_codes == [devicesim.RESTART]
        port = Port(dev.port)
        end = time.monotonic() + 15
        info = port.call("info").body
        while info["frames"] < 50 and time.monotonic() < end:  # a second of audio, in real time
            time.sleep(0.2)
            info = port.call("info").body
        port.close()
        assert info["boot"] == 2 and info["frames"] >= 50, info  # running again, in its second boot
        assert dev.running
    log = (tmp_path / "flash" / "crash.log").read_text()
    assert "--- crash 1 of 3 in a row: boot 1, 1 s run" in log
    assert "RuntimeError: injected in the frame loop" in log and "in step" in log
    assert (tmp_path / "flash" / "crash.txt").read_text().strip() == "1"
    assert _error_frames(tmp_path / "leds.log") >= 10  # animated for 3 s at 25 frames a second
    device_log = (tmp_path / "device.log").read_text()
    assert "error-crash crash 1 of 3" in device_log and "[device] reboot" in device_log


def test_crashes_at_boot_stop_at_the_limit_with_the_repl_reachable(tmp_path):
    with _device(tmp_path, _AT_BOOT) as dev:
        dev.wait_restart(2, timeout=40)
        end = time.monotonic() + 20
        while "error-crash-loop" not in (tmp_path / "device.log").read_text() and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(1.0)
        assert dev.restarts == 2 and dev.running  # three runs, then the prompt
        out = subprocess.run([MPREMOTE, "connect", dev.port, "exec", "print(6 * 7)"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "42", out.stdout + out.stderr
    log = (tmp_path / "flash" / "crash.log").read_text()
    for n in (1, 2, 3):
        assert f"--- crash {n} of 3 in a row: boot ?, 0 s run" in log
    assert log.count("ValueError: injected at boot") == 3
    assert (tmp_path / "flash" / "crash.txt").read_text().strip() == "0"  # the next reset tries again
    assert _error_frames(tmp_path / "leds.log") >= 3  # each crash showed it; the last stays lit


def test_the_error_pattern_check_knows_the_error_from_the_idle_ring(tmp_path):
    leds = ring.Ring({"count": 16, "led0_azimuth_deg": 0.0, "direction": "ccw", "max_brightness": 64,
                      "channel_ma": 20, "budget_ma": 200})
    lines = []
    for mode in (ring.MODE_ERROR, ring.MODE_IDLE, ring.MODE_LISTENING):
        state = ring.RingState()
        state.mode = mode
        buf = bytearray(48)
        leds.render(state, 1000, buf)
        lines.append(f"0 {buf.hex()}")
    path = tmp_path / "leds.log"
    path.write_text("\n".join(lines) + "\n")
    assert _error_frames(path) == 1
