"""`talkbalance session start|stop|claim` and sync's word on a session in
progress, against the simulated device (the real firmware on MicroPython)."""

from __future__ import annotations

import wave

import numpy as np
from talkbalance import boardfile, devicesim, signals
from talkbalance.cli import main
from talkbalance.localstore import LocalStore

RATE = 16000
VOICE_DEG = 220.0


def _one_voice(path, azimuth_deg: float, seconds: int) -> None:
    """One person speaking from `azimuth_deg` the whole time."""
    rng = np.random.default_rng(5)
    src = 3000 * signals.speech_like(seconds * RATE, RATE, rng)
    out = signals.render_far_field(src, boardfile.load(), azimuth_deg).T
    out += rng.normal(0, 20, out.shape)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(out.shape[1])
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.clip(out, -32768, 32767).astype("<i2").tobytes())


def test_start_claim_stop_from_the_laptop(tmp_path, capsys):
    """While one voice speaks from 220 degrees: start, claim (that voice
    becomes the initiator), stop; sync finds the session and the record
    says the initiator sat at 220 degrees, bound by the claim."""
    wav = tmp_path / "voice.wav"
    _one_voice(wav, VOICE_DEG, 30)
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash)
    db = str(tmp_path / "s.sqlite3")
    with devicesim.SimDevice(flash, audio=wav, speed=1.0) as dev:
        port = ["--port", dev.port, "--timeout", "5"]
        assert main(["session", "start", *port]) == 0
        assert "session started" in capsys.readouterr().out
        assert main(["session", "start", *port]) == 0
        assert "a session is already in progress" in capsys.readouterr().out
        assert main(["sync", *port, "--db", db]) == 0
        out = capsys.readouterr().out
        assert "0 new sessions" in out
        assert "a session is in progress on the device" in out and "talkbalance session stop" in out
        assert main(["session", "claim", "--seconds", "3", *port]) == 0
        assert "the initiator is now the voice the device heard" in capsys.readouterr().out
        assert main(["session", "stop", *port]) == 0
        assert "session ended and saved" in capsys.readouterr().out
        assert main(["sync", *port, "--db", db]) == 0
        assert "1 new session," in capsys.readouterr().out
    with LocalStore(db) as st:
        (stored,) = st.all()
    rec = stored.record
    assert rec["end_reason"] == "stopped" and rec["initiator_bound_by"] == "claim"
    assert abs((rec["talkers"][0]["azimuth_deg"] - VOICE_DEG + 180) % 360 - 180) < 15


def test_stop_and_claim_when_nothing_is_happening(tmp_path, capsys):
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash)
    with devicesim.SimDevice(flash) as dev:  # no recording: a quiet room
        port = ["--port", dev.port, "--timeout", "5"]
        assert main(["session", "stop", *port]) == 0
        assert "no session in progress (state idle)" in capsys.readouterr().out
        assert main(["session", "claim", "--seconds", "0.5", *port]) == 1
        err = capsys.readouterr().err
        assert "no clear voice heard while the claim was held" in err and "hint:" in err
        assert main(["sync", *port, "--db", str(tmp_path / "s.db")]) == 0
        assert "in progress" not in capsys.readouterr().out
    assert main(["session", "claim", "--seconds", "0", "--port", "loop://"]) == 1
    assert "--seconds must be" in capsys.readouterr().err
    assert main(["session", "claim", "--seconds", "nan", "--port", "loop://"]) == 1
    assert capsys.readouterr().err.startswith("talkbalance: --seconds must be")
