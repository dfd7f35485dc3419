"""`talkbalance analyze`: the firmware pipeline on MicroPython over a recording."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
from talkbalance import board, signals
from talkbalance.analyze import analyze
from talkbalance.cli import main


def _write(path, data, rate=16000, width=2, channels=None):
    channels = channels or data.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.astype("<i2" if width == 2 else "u1").tobytes())
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _write(p, np.zeros((1600, 4)), rate=44100), "44100 Hz; the board runs at 16000 Hz"),
    (lambda p: _write(p, np.zeros((1600, 3))), "3 channels"),
    (lambda p: _write(p, np.full((1600, 4), 128), width=1), "8-bit samples"),
    (lambda p: p.write_bytes(b"hello, not a wav at all" * 10) and p, "not a usable WAV file"),
    (lambda p: p.write_bytes(_write(p, np.zeros((16000, 4))).read_bytes()[:20000]) and p, "truncated"),
])
def test_bad_recordings_are_rejected_clearly(tmp_path, capsys, make, message):
    path = make(tmp_path / "rec.wav")
    assert main(["analyze", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("talkbalance: ") and message in err, err


def test_missing_file(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.wav")]) == 1
    assert "no such file" in capsys.readouterr().err


def _two_talkers(rate=16000, seconds=24):
    """Speech-like bursts alternating between 40 and 220 degrees, anechoic."""
    rng = np.random.default_rng(5)
    turn = 3 * rate
    desc = board.load()
    out = np.zeros((seconds * rate, 4))
    truth_talk = [0, 0]
    for k in range(seconds // 3):
        who = k % 2
        src = 3000 * signals.speech_like(turn, rate, rng)
        out[k * turn:(k + 1) * turn] += signals.render_far_field(src, desc, 40.0 if who == 0 else 220.0).T
        truth_talk[who] += 1
    out += rng.normal(0, 30, out.shape)
    return np.clip(out, -32768, 32767), truth_talk


def test_analyze_two_talkers_on_micropython(tmp_path):
    audio, truth = _two_talkers()
    path = _write(tmp_path / "two.wav", audio)
    result = analyze(path, frames=True)
    rec = result.record
    assert rec["schema"] == 2 and rec["end_reason"] == "end_of_recording"
    ini, par = rec["talkers"]
    assert ini["role"] == "initiator" and par["role"] == "partner"
    assert abs(((ini["azimuth_deg"] - 40 + 180) % 360) - 180) < 10, rec["talkers"]
    assert abs(((par["azimuth_deg"] - 220 + 180) % 360) - 180) < 10, rec["talkers"]
    assert abs(ini["share"] - 0.5) < 0.08, rec["talkers"]
    assert len(result.frames) == rec["frames_analyzed"] == 24 * 50


def test_analyze_json_and_two_channel_recording(tmp_path, capsys):
    audio, _ = _two_talkers(seconds=12)
    path = _write(tmp_path / "pair.wav", audio[:, :2].copy())
    assert main(["analyze", str(path), "--json", "--set", "initiator_rule=second"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["initiator_bound_by"] == "second"
    assert rec["config"]["initiator_rule"] == "second"


def test_bad_config_override(tmp_path, capsys):
    audio, _ = _two_talkers(seconds=3)
    path = _write(tmp_path / "x.wav", audio)
    assert main(["analyze", str(path), "--set", "frame_ms=99"]) == 1
    assert "frame_ms" in capsys.readouterr().err
