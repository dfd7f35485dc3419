"""The device commands (sync, info, clock, config, live, ports) end to end
through the CLI, against the firmware's link and store behind a real pty."""

from __future__ import annotations

import json
import re

import pytest
from ptydevice import PtyDevice
from records_fixture import make_record
from talkbalance import cli, serialports

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import store  # noqa: E402  isort: skip


@pytest.fixture
def rig(tmp_path):
    st = store.Store(str(tmp_path / "flash"))
    for i in range(6):
        rec = make_record(seed=i + 1, seconds=60, device="tb-test", boot=i + 1)
        st.add(rec["id"], json.dumps(rec).encode())
    st.close()
    with PtyDevice(str(tmp_path / "flash")) as r:
        yield r


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sync_command_then_sessions(rig, tmp_path, capsys):
    db = str(tmp_path / "local.sqlite3")
    code, out, err = _run(capsys, "sync", "--port", rig.path, "--db", db, "--progress", "always")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1  # a one-line summary
    assert re.match(r"synced tb-test: 6 new sessions, 0 already here, 6 acknowledged, clock set \(it was \d+ days "
                    r"slow\) in \d+\.\d s$", lines[0]), lines[0]
    assert "[" + "#" * 30 + "] 6/6 sessions" in err  # the bar reached the end, on stderr
    code, out, _ = _run(capsys, "sync", "--port", rig.path, "--db", db)
    assert code == 0 and out.startswith("synced tb-test: 0 new sessions, 6 already here, 0 acknowledged")
    code, out, _ = _run(capsys, "sessions", "--db", db, "--json")
    assert sorted(r["id"] for r in json.loads(out)) == [f"tb-test-{b}-1" for b in range(1, 7)]
    assert all(r["synced"] for r in rig.store.records())


def test_sync_json(rig, tmp_path, capsys):
    code, out, _ = _run(capsys, "sync", "--port", rig.path, "--db", str(tmp_path / "l.db"), "--json", "--no-clock")
    body = json.loads(out)
    assert code == 0 and body["new"] == 6 and body["acked"] == 6 and body["clock_set"] is False
    assert rig.dev.clock == 1_600_000_000  # --no-clock left it alone


def test_port_from_environment(rig, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(serialports.PORT_ENV, rig.path)
    code, out, _ = _run(capsys, "info", "--json")
    assert code == 0 and json.loads(out)["device"] == "tb-test"


def test_info(rig, capsys):
    code, out, _ = _run(capsys, "info", "--port", rig.path)
    assert code == 0
    assert f"device     tb-test on {rig.path}" in out
    assert "sessions   6 stored, 6 not yet synced" in out
    assert re.search(r"firmware   \d+\.\d+\.\d+, link protocol 1", out)


@pytest.mark.parametrize("timeout", ["nan", "0", "-1", "inf"])
def test_a_timeout_that_is_not_one_is_refused_not_taken_for_a_silent_device(rig, capsys, timeout):
    code, out, err = _run(capsys, "info", "--port", rig.path, "--timeout", timeout)
    assert code == 1 and out == ""
    assert err.startswith("talkbalance: --timeout must be more than 0 and at most 600 s, not ")
    assert "firmware running" not in err


def test_clock(rig, capsys):
    code, out, _ = _run(capsys, "clock", "--port", rig.path, "--json")
    assert code == 0 and json.loads(out)["device_time"] == 1_600_000_000 and json.loads(out)["set_to"] is None
    code, out, _ = _run(capsys, "clock", "--port", rig.path, "--set")
    assert code == 0 and "set to" in out
    assert abs(rig.dev.clock - __import__("time").time()) < 5


def test_config_get_set(rig, capsys):
    code, out, _ = _run(capsys, "config", "get", "--port", rig.path)
    assert code == 0 and "meeting_min=40  # planned meeting length for pacing" in out
    code, out, _ = _run(capsys, "config", "set", "meeting_min=45", "night=on", "initiator_rule=second",
                        "--port", rig.path)
    assert code == 0 and out.splitlines() == ["meeting_min=45  (applies now)", "night=true  (applies now)",
                                              "initiator_rule=second  (applies now)"]
    assert rig.dev.cfg["meeting_min"] == 45 and rig.dev.cfg["night"] is True
    code, out, _ = _run(capsys, "config", "get", "meeting_min", "--port", rig.path, "--json")
    assert json.loads(out) == {"meeting_min": 45}


def test_every_config_key_has_its_help():
    from talkbalance.settings import key_help
    from tbfw import config

    texts = key_help()
    assert sorted(texts) == sorted(config.USER_KEYS) and all(texts.values()), texts


def test_config_errors_are_one_line(rig, capsys):
    code, out, err = _run(capsys, "config", "set", "meeting_min=5", "--port", rig.path)
    assert code == 1 and err == "talkbalance: meeting_min: must be from 10 to 180, not 5\n"
    assert rig.dev.cfg["meeting_min"] == 40  # nothing sent
    code, _, err = _run(capsys, "config", "set", "colour=red", "--port", rig.path)
    assert code == 1 and err.startswith("talkbalance: colour: unknown key")
    code, _, err = _run(capsys, "config", "set", "meeting_min=45", "meeting_min=50", "--port", rig.path)
    assert code == 1 and err == "talkbalance: meeting_min is given twice\ntalkbalance: hint: give each key once\n"
    assert rig.dev.cfg["meeting_min"] == 40  # which was meant is not guessed: nothing sent


def test_live(rig, capsys):
    code, out, _ = _run(capsys, "live", "--port", rig.path, "--count", "3", "--ring", "always")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert "\x1b[38;2;" in line  # the ring, drawn by the firmware's renderer
        assert "session" in line and "initiator 31% (recent 28%) in band (target 30\u00b15%)" in line
        assert "speaking: partner" in line
    assert re.search(r"12:3\d of 40:00", lines[0])
    assert rig.dev.live_on is False  # switched off again at the end


@pytest.mark.parametrize("args, message", [
    (["--count", "-1"], "--count must be 0 (no limit) or more, not -1"),
    (["--seconds", "-2"], "--seconds must be 0 (until Ctrl-C) or more, not -2"),
    (["--seconds", "nan"], "--seconds must be 0 (until Ctrl-C) or more, not nan"),
])
def test_live_refuses_a_count_or_time_that_is_not_one(rig, capsys, args, message):
    code, out, err = _run(capsys, "live", "--port", rig.path, *args)
    assert code == 1 and out == "" and err.splitlines()[0] == "talkbalance: " + message
    assert rig.dev.live_on is False  # never switched on


def test_live_json(rig, capsys):
    code, out, _ = _run(capsys, "live", "--port", rig.path, "--count", "2", "--json")
    bodies = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and len(bodies) == 2 and bodies[0]["share_pm"] == 310


def test_device_faults_exit_1_with_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "info", "--port", "/dev/ttyNOPE7")
    assert code == 1 and err.splitlines()[0] == "talkbalance: no device at /dev/ttyNOPE7"
    with PtyDevice(str(tmp_path / "f"), raw_reply=b"\r\n>>> ") as rig:
        code, _, err = _run(capsys, "sync", "--port", rig.path, "--db", str(tmp_path / "l.db"))
    assert code == 1 and "is at the MicroPython prompt (REPL)" in err.splitlines()[0]
    assert err.splitlines()[1].startswith("talkbalance: hint:")


def test_ports_command(capsys, monkeypatch):
    class Info:
        def __init__(self, device, vid, pid, description):
            self.device, self.vid, self.pid, self.description, self.serial_number = device, vid, pid, description, None

    fake = [Info("/dev/ttyS0", None, None, "n/a"), Info("/dev/ttyACM0", 0x303A, 0x1001, "USB JTAG/serial debug unit")]
    monkeypatch.setattr(serialports, "_system_ports", lambda: fake)
    code, out, _ = _run(capsys, "ports")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("* /dev/ttyACM0") and "303a:1001" in lines[0] and "Espressif" in lines[0]
    assert lines[1].startswith("  /dev/ttyS0")
    assert "commands use /dev/ttyACM0 by themselves" in lines[-1]


def test_live_numbers_and_pixels_from_the_app_body():
    """The app's own live body: state, who, share_pm, ring (the LED driver's GRB hex)."""
    from talkbalance import liveview

    line = liveview.numbers({"state": "session", "who": "partner", "share_pm": 412, "elapsed_s": 600, "heat": 1})
    assert line.split() == ["session", "10:00", "of", "40:00", "initiator", "41%", "drifting", "over",
                            "(target", "30\u00b15%)", "speaking:", "partner", "heat", "1"]
    assert liveview.numbers({"state": "idle", "who": None, "share_pm": -1, "level_db": -83}).split() == \
        ["idle", "speaking:", "nobody", "-83", "dBFS"]
    grb = bytes([0, 0, 0] * 11 + [40, 0, 0])  # 12 LEDs, the last one green
    text = liveview.RingLine()({"ring": grb.hex()})
    assert text.count("\u00b7") == 11 and text.count("\u25cf") == 1
