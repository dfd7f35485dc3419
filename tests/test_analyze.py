"""`talkbalance analyze`: the firmware pipeline on MicroPython over a recording."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
from scipy import signal
from talkbalance import boardfile, recordcheck, recording, records, signals
from talkbalance.analysis import analyze
from talkbalance.cli import main
from wavmake import encode, wav_bytes


def _write(path, data, rate=16000, width=2, channels=None):
    channels = channels or data.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.astype("<i2" if width == 2 else "u1").tobytes())
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _write(p, np.zeros((1600, 3))), "3 channels; 2 (one pair) or 4"),
    (lambda p: _write(p, np.zeros((1600, 4)), rate=47999), "47999 Hz is an unusual rate"),
    (lambda p: p.write_bytes(b"hello, not a wav at all" * 10) and p, "a text file, not a recording"),
    (lambda p: p.write_bytes(b"fLaC" + bytes(200)) and p, "a FLAC file, not a WAV file"),
    (lambda p: p.write_bytes(_write(p, np.zeros((16000, 4))).read_bytes()[:20000]) and p, "truncated"),
    (lambda p: p.mkdir() or p, "a directory, not a recording"),
])
def test_bad_recordings_are_rejected_clearly(tmp_path, capsys, make, message):
    path = make(tmp_path / "rec.wav")
    assert main(["analyze", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("talkbalance: ") and message in err, err
    assert len(err.splitlines()) <= 2 and err.endswith("\n")  # the message, and a hint


def test_missing_file(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.wav")]) == 1
    assert "no such file" in capsys.readouterr().err


def _two_talkers(rate=16000, seconds=24):
    """Speech-like bursts alternating between 40 and 220 degrees, anechoic."""
    rng = np.random.default_rng(5)
    turn = 3 * rate
    desc = boardfile.load()
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
    assert len(result.sessions) == 1 and result.conversion is None
    rec = result.sessions[0]
    assert rec["schema"] == 2 and rec["end_reason"] == "end_of_recording" and rec["start"] == 0
    ini, par = rec["talkers"]
    assert ini["role"] == "initiator" and par["role"] == "partner"
    assert abs(((ini["azimuth_deg"] - 40 + 180) % 360) - 180) < 10, rec["talkers"]
    assert abs(((par["azimuth_deg"] - 220 + 180) % 360) - 180) < 10, rec["talkers"]
    assert abs(ini["share"] - 0.5) < 0.08, rec["talkers"]
    assert len(result.frames) == 24 * 50 and result.audio_s == 24


def test_analyze_json_and_two_channel_recording(tmp_path, capsys):
    audio, _ = _two_talkers(seconds=12)
    path = _write(tmp_path / "pair.wav", audio[:, :2].copy())
    assert main(["analyze", str(path), "--json", "--set", "initiator_rule=second"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert rec["initiator_bound_by"] == "second"
    assert rec["config"]["initiator_rule"] == "second"


def test_bad_config_override(tmp_path, capsys):
    audio, _ = _two_talkers(seconds=3)
    path = _write(tmp_path / "x.wav", audio)
    assert main(["analyze", str(path), "--set", "frame_ms=99"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == "talkbalance: config: frame_ms: must be from 10 to 32, not 99\n"


def test_no_speech_is_explained(tmp_path, capsys):
    rng = np.random.default_rng(2)
    path = _write(tmp_path / "quiet.wav", rng.normal(0, 3, (90 * 16000, 4)))
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no session: no speech in 1:30 of audio; its loudest moment is ") and "duration" not in out
    assert main(["analyze", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [] and "no speech in 1:30" in err


@pytest.mark.parametrize("make, why", [
    (lambda rng, n: rng.normal(0, 3, (n, 4)), "a silent or very quiet recording"),
    (lambda rng, n: np.repeat((3000 * np.sin(np.arange(n) * 0.09))[:, None], 4, 1), "a steady tone or noise"),
    (lambda rng, n: rng.normal(0, 3000, (n, 4)), "a steady tone or noise"),
    (lambda rng, n: np.repeat(np.where(np.arange(n) % 40 < 20, 32767, -32768)[:, None], 4, 1), "clipped"),
])
def test_no_speech_says_whether_it_was_quiet_steady_or_clipped(tmp_path, capsys, make, why):
    rng = np.random.default_rng(4)
    path = _write(tmp_path / "x.wav", make(rng, 20 * 16000))
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no session: no speech in 0:20 of audio; its loudest moment is ") and why in out, out


def test_a_microphone_dead_from_the_start_leaves_the_other_pair(tmp_path, capsys):
    audio, _ = _two_talkers()
    whole = analyze(_write(tmp_path / "whole.wav", audio)).sessions[0]
    audio[:, 2] = 0  # channel 2 silent throughout: a wire off
    path = _write(tmp_path / "dead.wav", audio)
    result = analyze(path)
    assert result.dead_s[2] >= 0.9 * result.audio_s and max(result.dead_s[:2] + result.dead_s[3:]) == 0
    # the X pair's one-pair angles: 40 degrees stays, 220 folds about the axis to 140
    rec = result.sessions[0]
    assert [t["azimuth_deg"] for t in rec["talkers"]] == pytest.approx([40, 140], abs=6)
    assert rec["talkers"][0]["share"] == pytest.approx(whole["talkers"][0]["share"], abs=0.02)
    assert main(["analyze", str(path)]) == 0
    err = capsys.readouterr().err
    assert "analyze: a microphone was silent or disconnected (channel 2 for 0:23 of 0:24)" in err


def test_a_dead_microphone_with_no_other_pair_is_named(tmp_path, capsys):
    audio, _ = _two_talkers()
    audio[:, 2] = 0
    audio[:, 0] = 0  # one microphone of each pair
    path = _write(tmp_path / "dead.wav", audio)
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no session: speech for ") and "a microphone was silent or disconnected (channel 0 for" in out
    assert "channel 2 for" in out


def test_a_microphone_lost_halfway_is_warned_of_beside_the_sessions(tmp_path, capsys):
    audio, _ = _two_talkers(seconds=36)
    audio[len(audio) // 2:, 3] = 0
    path = _write(tmp_path / "half.wav", audio)
    assert main(["analyze", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    sessions = json.loads(out)
    assert sessions, err
    assert "analyze: a microphone was silent or disconnected (channel 3 for 0:1" in err and "of 0:36)" in err
    # the record says so too: no frame voted from the loss (held dead after
    # 1 s) to the session's end, so its shares are not to be trusted
    rec = max(sessions, key=lambda r: r["duration_s"])
    hearing = rec["hearing"]
    # from the loss at 18 s, in the session's time, once the channel is held dead (within 1 s)
    left = rec["duration_s"] - (18.0 - rec["start"])
    assert left - 1.0 <= hearing["mic_lost_s"] <= left, (hearing, rec["duration_s"], rec["start"])
    text = records.hearing_text(rec)
    assert hearing["reliable"] is False and "a microphone out for 0:1" in text and "TV" not in text
    assert recordcheck.check(rec) == []
    whole, _ = _two_talkers(seconds=36)  # the same conversation with every microphone: nothing lost
    rec = analyze(_write(tmp_path / "whole.wav", whole)).sessions[0]
    assert rec["hearing"]["mic_lost_s"] == 0 and "microphone" not in (records.hearing_text(rec) or "")


def test_one_voice_is_explained(tmp_path, capsys):
    rng = np.random.default_rng(3)
    src = 3000 * signals.speech_like(20 * 16000, 16000, rng)
    audio = signals.render_far_field(src, boardfile.load(), 40.0).T + rng.normal(0, 30, (20 * 16000, 4))
    path = _write(tmp_path / "one.wav", np.clip(audio, -32768, 32767))
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no session: speech for 0:") and "never two talkers" in out


@pytest.mark.parametrize("rate, bits", [(48000, 24), (44100, 32), (16000, 8)])
def test_other_formats_are_converted_and_said_so(tmp_path, capsys, rate, bits):
    audio, _ = _two_talkers(seconds=12)
    x = signal.resample_poly(audio, rate, 16000, axis=0) if rate != 16000 else audio
    path = tmp_path / "rec.wav"
    path.write_bytes(wav_bytes(encode(x, bits, "int"), 4, rate, bits))
    assert main(["analyze", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    (rec,) = json.loads(out)
    assert abs(rec["talkers"][0]["share"] - 0.5) < 0.08
    assert err.startswith(f"analyze: rec.wav: {rate} Hz {bits}-bit integer, 4 channels; converted to 16-bit")


@pytest.mark.parametrize("fault, message", [
    (OSError("Input/output error"), "could not be read (Input/output error)"),
    (None, "the audio stopped after 0:01 of 0:03"),
])
def test_audio_that_stops_coming_is_an_error(tmp_path, capsys, monkeypatch, fault, message):
    """A converted recording whose reading fails, or ends early, is never
    analysed as if it were shorter."""
    audio, _ = _two_talkers(seconds=3)
    path = tmp_path / "rec.wav"
    path.write_bytes(wav_bytes(encode(audio, 24, "int"), 4, 16000, 24))
    real = recording.pcm16_chunks

    def cut(fmt, rate, block_s=2.0):
        for k, chunk in enumerate(real(fmt, rate, block_s=1.0)):
            if k == 1:
                if fault is not None:
                    raise fault
                return
            yield chunk

    monkeypatch.setattr(recording, "pcm16_chunks", cut)
    assert main(["analyze", str(path)]) == 1
    out, err = capsys.readouterr()
    note, error = err.splitlines()[:2]
    assert out == "" and note.startswith("analyze: rec.wav: 16000 Hz 24-bit integer")
    assert error.startswith("talkbalance: ") and message in error, err
