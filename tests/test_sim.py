"""The simulated device: the real firmware on MicroPython behind a real pty."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import serial
from talkbalance import devicesim
from talkbalance.fw import wire

MPREMOTE = str(Path(sys.executable).parent / "mpremote")


class Port:
    """Minimal request/answer over the wire format (tests only)."""

    def __init__(self, path):
        self.ser = serial.serial_for_url(path, timeout=0.1)
        self.dec = wire.Decoder()
        self.next_id = 1

    def call(self, name, args=None, wait=10.0):
        ident = self.next_id
        self.next_id += 1
        self.ser.write(wire.request(ident, name, args))
        end = time.monotonic() + wait
        while time.monotonic() < end:
            for msg in self.dec.feed(self.ser.read(4096)):
                if msg.id == ident and msg.kind in ("ok", "err"):
                    return msg
        raise AssertionError(f"no answer to {name}")

    def close(self):
        self.ser.close()


def _quiet_wav(path, seconds=2.0):
    import wave

    rng = np.random.default_rng(0)
    data = rng.normal(0, 20, (int(16000 * seconds), 4)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(4)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(data.tobytes())
    return path


def test_device_answers_on_a_real_pty(tmp_path):
    devicesim.install_firmware(tmp_path / "flash")
    with devicesim.SimDevice(tmp_path / "flash", audio=_quiet_wav(tmp_path / "q.wav"), speed=0) as dev:
        assert dev.port.startswith("/dev/")
        port = Port(dev.port)
        hello = port.call("hello")
        assert hello.kind == "ok" and hello.body["protocol"] == wire.PROTOCOL
        info = port.call("info").body
        assert info["device"] == hello.body["device"] and info["boot"] == 1
        port.close()


def test_mpremote_deploys_onto_a_blank_device_and_it_boots(tmp_path):
    flash = tmp_path / "flash"
    staged = tmp_path / "staged"
    devicesim.install_firmware(staged)
    with devicesim.SimDevice(flash) as dev:
        out = subprocess.run([MPREMOTE, "connect", dev.port, "exec", "import sys; print(sys.implementation.name)"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "micropython" in out.stdout, out.stderr
        cmd = [MPREMOTE, "connect", dev.port, "fs", "mkdir", ":lib", "+", "fs", "mkdir", ":lib/tbfw"]
        for f in sorted((staged / "lib" / "tbfw").iterdir()):
            cmd += ["+", "fs", "cp", str(f), f":lib/tbfw/{f.name}"]
        cmd += ["+", "fs", "cp", str(staged / "main.py"), ":main.py",
                "+", "fs", "cp", str(staged / "board.json"), ":board.json"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert (flash / "lib" / "tbfw" / "app.py").read_bytes() == (staged / "lib" / "tbfw" / "app.py").read_bytes()
        # soft reset from the friendly REPL: the board runs main.py, the app answers
        with serial.serial_for_url(dev.port, timeout=0.5) as ser:
            ser.write(b"\r\x02\x04")
        dev.wait_restart(1)
        assert dev.restarts == 1
        port = Port(dev.port)
        assert port.call("hello").body["firmware"]
        port.close()


def test_ctrl_c_stops_the_app_and_leaves_the_repl(tmp_path):
    devicesim.install_firmware(tmp_path / "flash")
    with devicesim.SimDevice(tmp_path / "flash") as dev:
        port = Port(dev.port)
        port.call("hello")
        port.close()
        out = subprocess.run([MPREMOTE, "connect", dev.port, "exec", "print(6 * 7)"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "42", out.stdout + out.stderr
        assert dev.running


@pytest.mark.parametrize("compiled", [False, True], ids=["source", "mpy"])
def test_install_firmware(tmp_path, compiled):
    files = devicesim.install_firmware(tmp_path, compiled=compiled)
    suffix = ".mpy" if compiled else ".py"
    assert (tmp_path / "main.py").is_file() and (tmp_path / "board.json").is_file()
    assert (tmp_path / "lib" / "tbfw" / f"app{suffix}").is_file()
    assert len(files) > 10


def _wav(path, channels, rate, seconds=0.5, width=2):
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(int(seconds * rate) * channels * width))
    return path


@pytest.mark.parametrize("make, words", [
    (lambda p: _wav(p, 1, 16000), "1 channel; the board has 4 microphones"),
    (lambda p: (p.write_text("hello, not audio\n"), p)[1], "a text file, not a recording"),
    (lambda p: p.mkdir() or p, "a directory, not a recording"),
    (lambda p: p, "no such file"),
])
def test_sim_refuses_an_unusable_recording_before_starting(tmp_path, capsys, make, words):
    from talkbalance.cli import main

    wav = make(tmp_path / "rec.wav")
    started = time.monotonic()
    assert main(["sim", "--audio", str(wav)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no port printed: no device was started
    assert captured.err.startswith(f"talkbalance: {wav}: ") and words in captured.err
    assert "Traceback" not in captured.err and time.monotonic() - started < 10


def test_sim_plays_another_rate_converted_to_the_board_format(tmp_path):
    import wave

    from talkbalance import boardfile

    desc = boardfile.load()
    at_48k = _wav(tmp_path / "rec48.wav", desc["channels"], 48000, seconds=1.0, width=3)
    out = devicesim.board_audio(at_48k, desc, tmp_path / "work")
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (desc["channels"], 2, desc["sample_rate_hz"])
        assert w.getnframes() == desc["sample_rate_hz"]
    as_is = _wav(tmp_path / "rec16.wav", desc["channels"], desc["sample_rate_hz"])
    assert devicesim.board_audio(as_is, desc, tmp_path / "work") == as_is


@pytest.mark.parametrize("command", ["sim", "demo"])
@pytest.mark.parametrize("speed", ["nan", "-1", "inf"])
def test_a_pace_that_is_not_one_is_refused_before_a_device_starts(tmp_path, capsys, command, speed):
    from talkbalance.cli import main

    extra = ["--out", str(tmp_path / "demo")] if command == "demo" else []
    assert main([command, "--speed", speed, *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no port printed, no scene made
    assert captured.err.startswith("talkbalance: --speed must be 0 (as fast as it goes) or more, not ")
    assert not (tmp_path / "demo").exists()
