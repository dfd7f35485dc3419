"""End to end on the simulated device: a conversation recorded, synced and
checked against its ground truth; power cuts mid-session and mid-write."""

from __future__ import annotations

import random
import subprocess
import time
import wave

import numpy as np
import pytest
from talkbalance import boardfile, devicesim, paths, signals
from talkbalance.device import Device
from talkbalance.localstore import LocalStore
from talkbalance.recordsync import sync

RATE = 16000


def _conversation(path, seconds=60, share=0.3, seed=3):
    """Alternating speech-like turns from 40 and 220 degrees; returns the
    true initiator share (talker at 40 degrees speaks first)."""
    rng = np.random.default_rng(seed)
    desc = boardfile.load()
    out = np.zeros((seconds * RATE, 4))
    talk = [0, 0]
    t = 0
    who = 0
    while t < seconds * RATE:
        mean = 6.0 * (share if who == 0 else 1 - share) / 0.5
        n = min(int(rng.uniform(0.6, 1.4) * mean * RATE), seconds * RATE - t)
        src = 3000 * signals.speech_like(n, RATE, rng)
        out[t:t + n] += signals.render_far_field(src, desc, 40.0 if who == 0 else 220.0).T
        talk[who] += n
        t += n + int(rng.uniform(0.3, 0.8) * RATE)
        who = 1 - who
    out += rng.normal(0, 20, out.shape)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(4)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.clip(out, -32768, 32767).astype("<i2").tobytes())
    return talk[0] / (talk[0] + talk[1])


def _unix_port_arch() -> str:
    """The native architecture of the unix port in use, from its pointer
    size (x64, or x86 for a 32-bit build given in TALKBALANCE_MICROPYTHON)."""
    proc = subprocess.run(paths.micropython() + ["-c", "import sys; print(sys.maxsize)"],
                          capture_output=True, text=True, check=True)
    return {2**63 - 1: "x64", 2**31 - 1: "x86"}[int(proc.stdout)]


def _wait_heard(link, seconds, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if link.call("info")["frames"] >= seconds * 50:
            return
        time.sleep(0.2)
    raise AssertionError("the device did not hear the whole recording in time")


def test_deploy_to_a_blank_device_then_a_conversation_is_recorded_synced_and_matches_truth(tmp_path, capsys):
    """`talkbalance deploy` (the real mpremote, .mpy built for the device's
    architecture) onto a simulated device holding only MicroPython; then the
    app hears a conversation, and the synced record matches the truth."""
    from talkbalance.cli import main

    wav = tmp_path / "talk.wav"
    true_share = _conversation(wav)
    flash = tmp_path / "flash"
    flash.mkdir()
    with devicesim.SimDevice(flash, audio=wav, speed=0) as dev:
        assert main(["deploy", "--port", dev.port]) == 0
        printed = capsys.readouterr().out
        assert f"as .mpy ({_unix_port_arch()})" in printed and "answers as sim" in printed, printed
        assert (flash / "lib" / "tbfw" / "app.mpy").is_file() and (flash / "main.py").is_file()
        with Device.connect(dev.port, timeout=5) as link, LocalStore(tmp_path / "db.sqlite3") as local:
            _wait_heard(link, 60)
            link.call("session", {"action": "stop"})
            result = sync(link, local)
            stored = local.all()
    assert result.new == 1 and len(stored) == 1
    rec = stored[0].record
    ini, par = rec["talkers"]
    assert abs(ini["share"] - true_share) < 0.03, (ini["share"], true_share)
    assert abs(((ini["azimuth_deg"] - 40 + 180) % 360) - 180) < 10
    assert abs(((par["azimuth_deg"] - 220 + 180) % 360) - 180) < 10
    assert rec["initiator_bound_by"] == "first"


def _records(link):
    return {r["id"]: link.get_record(r["id"]) for r in link.list_records()}


@pytest.mark.parametrize("seed", [1, 2])
def test_power_cuts_mid_session_and_mid_write_lose_nothing_committed(tmp_path, seed):
    rng = random.Random(seed)
    wav = tmp_path / "talk.wav"
    _conversation(wav, seconds=30, seed=seed)
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash)
    dev = devicesim.SimDevice(flash, audio=wav, speed=0, log=tmp_path / "device.log")
    dev.start()
    try:
        with Device.connect(dev.port, timeout=5) as link:
            _wait_heard(link, 30)
            link.call("session", {"action": "stop"})
            committed = _records(link)
        assert len(committed) == 1
        in_flight = 0  # saves under way at a cut
        for _ in range(4):
            # mid-session: start one, cut the power while it runs or is being saved
            with Device.connect(dev.port, timeout=5) as link:
                link.call("session", {"action": "start"})
                if rng.random() < 0.6:
                    link._send("session", {"action": "stop"})  # the save is in flight at the cut
                    in_flight += 1
                time.sleep(rng.uniform(0.0, 0.05))
                dev.power_cut()
            dev.power_on()
            with Device.connect(dev.port, timeout=5) as link:
                now = _records(link)
                info = link.call("info")
            for rec_id, data in committed.items():
                assert now.get(rec_id) == data, f"lost or changed {rec_id} after a power cut"
            # the only record a cut may cost is the one being written when it
            # came (its file cut short, dropped at boot as `incomplete`,
            # docs/store.md), never a committed one
            counters = info["counters"]
            assert {r for r, n in counters["dropped_by"].items() if n} <= {"incomplete"}, counters
            assert counters["dropped"] <= in_flight, counters
            assert not {d[0] for d in counters["recent_drops"]} & set(committed), counters
            committed = now
    finally:
        dev.stop()


def test_flood_of_garbage_and_pointless_commands_during_a_session(tmp_path):
    """Garbage and valid-but-pointless requests at the UART's full rate
    (115200 baud, about 11.5 KB/s) for a whole real-time session: the session
    is still recorded correctly and no audio is lost."""
    import threading

    import serial
    from talkbalance.fw import wire

    seconds = 20
    wav = tmp_path / "talk.wav"
    true_share = _conversation(wav, seconds=seconds, seed=5)
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash)
    rng = random.Random(7)
    junk = [bytes(rng.randrange(256) for _ in range(200)), b"I (123) boot: log line\r\n",
            wire.request(900, "info"), wire.request(901, "list"), wire.request(902, "clock"),
            wire.request(903, "config"), b"@tb1 req 5 info {} 00000000\n", b"\x00\xff" * 64]
    with devicesim.SimDevice(flash, audio=wav, speed=1.0, log=tmp_path / "device.log") as dev:
        stop = threading.Event()
        sent = [0]

        def flood():
            with serial.serial_for_url(dev.port, timeout=0) as port:
                t0 = time.monotonic()
                while not stop.is_set():
                    chunk = rng.choice(junk)
                    port.write(chunk)
                    port.read(4096)
                    sent[0] += len(chunk)
                    ahead = sent[0] / 11520 - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)

        worker = threading.Thread(target=flood)
        worker.start()
        time.sleep(seconds + 1.0)
        stop.set()
        worker.join()
        with Device.connect(dev.port, timeout=5) as link:
            _wait_heard(link, seconds)
            info = link.call("info")
            link.call("session", {"action": "stop"})
            with LocalStore(tmp_path / "db.sqlite3") as local:
                sync(link, local)
                rec = local.all()[0].record
    assert sent[0] > 10000 * seconds * 0.8
    assert info["lost_samples"] == 0, info
    assert info["link"]["skipped"] > 0 or info["link"].get("too_long", 0) > 0, info["link"]
    assert abs(rec["talkers"][0]["share"] - true_share) < 0.04, (rec["talkers"], true_share)
