"""Finding the device among the serial ports by USB vendor and product id."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from talkbalance import serialports
from talkbalance.errors import LinkError


def _info(device, vid=None, pid=None, description="n/a"):
    return SimpleNamespace(device=device, vid=vid, pid=pid, description=description, serial_number=None)


S3 = _info("/dev/ttyACM0", 0x303A, 0x1001, "USB JTAG/serial debug unit")
CP210X = _info("/dev/ttyUSB1", 0x10C4, 0xEA60, "CP2102 USB to UART Bridge Controller")
CH340 = _info("/dev/ttyUSB0", 0x1A86, 0x7523, "USB Serial")
ARDUINO = _info("/dev/ttyACM1", 0x2341, 0x0043, "Arduino Uno")
UART = _info("/dev/ttyS0")


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(serialports.PORT_ENV, raising=False)


@pytest.mark.parametrize("vid,pid,likely", [
    (0x303A, 0x1001, True), (0x303A, 0x4001, True), (0x10C4, 0xEA60, True), (0x1A86, 0x7523, True),
    (0x1A86, 0x55D4, True), (0x0403, 0x6001, True), (0x0403, 0x6015, True),
    (0x0403, 0x6010, False), (0x10C4, 0xEA70, False), (0x2341, 0x0043, False), (None, None, False)])
def test_classify(vid, pid, likely):
    assert bool(serialports.classify(vid, pid)) is likely


def test_list_marks_and_orders():
    found = serialports.list_ports(lambda: [UART, ARDUINO, S3, CH340])
    assert [p.device for p in found] == ["/dev/ttyACM0", "/dev/ttyUSB0", "/dev/ttyACM1", "/dev/ttyS0"]
    assert [p.likely for p in found] == [True, True, False, False]
    assert found[0].usb_id == "303a:1001" and found[0].kind.startswith("Espressif")
    assert found[3].description == "" and found[3].as_dict()["usb"] is None


def test_find_exactly_one():
    assert serialports.find_device(None, lambda: [UART, ARDUINO, CP210X]) == "/dev/ttyUSB1"


def test_none_found():
    with pytest.raises(LinkError, match="no talkbalance device found") as err:
        serialports.find_device(None, lambda: [UART, ARDUINO])
    assert "--port" in err.value.hint


def test_several_found():
    with pytest.raises(LinkError, match="several possible devices: /dev/ttyACM0, /dev/ttyUSB0") as err:
        serialports.find_device(None, lambda: [S3, CH340])
    assert "--port" in err.value.hint


def test_port_given_or_from_environment_wins(monkeypatch):
    def nothing():
        raise AssertionError("ports listed although one was given")

    assert serialports.find_device("socket://localhost:7000", nothing) == "socket://localhost:7000"
    monkeypatch.setenv(serialports.PORT_ENV, "loop://")
    assert serialports.find_device(None, nothing) == "loop://"


def test_a_running_simulated_device_is_listed_marked_and_used(tmp_path, capsys):
    """`talkbalance sim` in a child process: while it runs, `ports` lists its
    pty marked as a simulated device and commands find it by themselves;
    once it stops, its entry is gone."""
    import os
    import signal
    import subprocess
    import sys

    from talkbalance import simports
    from talkbalance.cli import main

    proc = subprocess.Popen([sys.executable, "-m", "talkbalance", "sim", "--flash", str(tmp_path / "flash")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        for _ in range(100):
            if simports.running():
                break
            time.sleep(0.05)
        assert simports.running() == [simports.RunningSim(port, proc.pid, str(tmp_path / "flash"))]
        assert main(["ports"]) == 0
        out = capsys.readouterr().out
        assert f"* {port}" in out and f"simulated talkbalance device (talkbalance sim, pid {proc.pid})" in out
        assert f"commands use {port} by themselves" in out
        assert serialports.find_device(None, lambda: [UART, ARDUINO]) == port
        assert main(["info"]) == 0
        assert f"on {port}" in capsys.readouterr().out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert simports.running() == [] and not list(simports.registry_dir().glob("*.json"))
    # an entry left by a simulator that was killed is dropped when read
    stale = simports.registry_dir() / "999999999.json"
    stale.write_text('{"port": "/dev/pts/999", "pid": 999999999, "flash": "x"}')
    assert simports.running() == [] and not stale.exists()
    assert os.environ["TALKBALANCE_SIM_DIR"] == str(simports.registry_dir())
