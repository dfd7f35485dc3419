"""`analyze` on a recording of two conversations with a 6-minute pause
between them, from the scene simulator's ground truth: two sessions, each
with its conversation's share; the same records from 48 kHz 24-bit and
32-bit float versions of the recording."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from talkbalance import recording, scenesim
from talkbalance.analysis import analyze
from talkbalance.cli import main
from wavmake import write_stream

RATE = 16000
PAUSE_S = 360
CONVERSATIONS = (  # (seed, share, initiator az, partner az): two different pairs of people
    (31, 0.30, 90.0, 270.0),
    (32, 0.45, 30.0, 200.0),
)

pytestmark = pytest.mark.slow


def _pause(audio: np.ndarray, seconds: int, rng: np.random.Generator) -> np.ndarray:
    """Room noise at the scene's own floor (its quietest frames), per channel."""
    hop = scenesim.frame_samples(RATE)
    frames = audio[:len(audio) // hop * hop].astype(np.float64).reshape(-1, hop, audio.shape[1])
    rms = np.sqrt(np.mean(frames ** 2, axis=1))  # (frames, channels)
    floor = np.percentile(rms, 5, axis=0)
    return rng.normal(0.0, floor, size=(seconds * RATE, audio.shape[1]))


@pytest.fixture(scope="module")
def two_conversations(tmp_path_factory):
    """(16 kHz 16-bit WAV, true initiator shares, conversation start offsets in s)."""
    rng = np.random.default_rng(7)
    parts, shares, starts, at = [], [], [], 0
    for k, (seed, share, ini_az, par_az) in enumerate(CONVERSATIONS):
        s = scenesim.render(scenesim.SceneConfig(seed=seed, minutes=3, share=share, initiator_az_deg=ini_az,
                                           partner_az_deg=par_az))
        first_word = s.truth["frames"].find("1") if "1" in s.truth["frames"] else s.truth["frames"].find("2")
        starts.append(at + first_word * s.truth["frame_ms"] / 1000)
        shares.append(s.truth["initiator_share"])
        parts.append(s.audio)
        at += len(s.audio) / RATE
        if k == 0:
            parts.append(np.clip(np.round(_pause(s.audio, PAUSE_S, rng)), -32768, 32767).astype(np.int16))
            at += PAUSE_S
    audio = np.concatenate(parts)
    path = tmp_path_factory.mktemp("two") / "two.wav"
    scenesim.write_wav(path, audio, RATE)
    return path, audio, shares, starts


def _check_sessions(sessions: list[dict], shares: list[float], starts: list[float]) -> None:
    assert len(sessions) == 2, [r["duration_s"] for r in sessions]
    for rec, share, start in zip(sessions, shares, starts):
        assert abs(rec["talkers"][0]["share"] - share) <= 0.02, (rec["talkers"], share)
        assert abs(rec["start"] - start) <= 2, (rec["start"], start)
        assert 160 <= rec["duration_s"] <= 185, rec["duration_s"]
    assert sessions[0]["end_reason"] == "silence"
    assert sessions[1]["end_reason"] == "end_of_recording"
    assert sessions[0]["id"] != sessions[1]["id"]


def test_two_conversations_give_two_sessions(two_conversations, capsys):
    path, _, shares, starts = two_conversations
    assert main(["analyze", str(path), "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)
    _check_sessions(sessions, shares, starts)
    # each session learned its own pair of talkers
    for rec, (_, _, ini_az, par_az) in zip(sessions, CONVERSATIONS):
        got = [t["azimuth_deg"] for t in rec["talkers"]]
        assert all(abs((g - want + 180) % 360 - 180) < 15 for g, want in zip(got, (ini_az, par_az))), got
    assert sessions[0]["in_band_share"] is None and sessions[0]["in_band_s"] is None  # under 5 minutes

    assert main(["analyze", str(path), "--progress", "always"]) == 0
    out, err = capsys.readouterr()
    assert "== session 1 of 2, from 0:0" in out and "== session 2 of 2, from 9:0" in out
    assert out.count("n/a (under 5 minutes)") == 2
    assert err.startswith("\r[#-") and "] 6:00 of 12:00 analysed\r[" in err
    assert err.endswith("] 12:00 of 12:00 analysed\n")


def test_frame_codes_follow_each_sessions_roles(two_conversations):
    """The per-frame codes cover the whole recording, the pause is silent,
    and each session's frames carry its own roles: the share they give is
    the record's."""
    path, audio, _, _ = two_conversations
    result = analyze(path, frames=True)
    codes = result.frames
    assert len(codes) == len(audio) // (RATE // 50) == 12 * 60 * 50
    for rec in result.sessions:
        first = rec["start"] * 50
        part = codes[first:first + int(rec["duration_s"] * 50) + 50]
        ini, par = part.count("1") + part.count("3"), part.count("2") + part.count("3")
        assert abs(ini / (ini + par) - rec["talkers"][0]["share"]) < 0.02, (ini, par, rec["talkers"])
    pause = codes[int(result.sessions[0]["duration_s"] * 50) + 100:result.sessions[1]["start"] * 50]
    assert pause.count("0") / len(pause) > 0.99


def _upsampled(audio: np.ndarray, factor: int):
    """The recording at `factor` times the rate, streamed in 10 s blocks."""
    blocks = (audio[i:i + 10 * RATE].astype(np.float64) for i in range(0, len(audio), 10 * RATE))
    return recording.resample_stream(blocks, RATE, factor * RATE)


@pytest.mark.parametrize("bits, encoding, extensible", [(24, "int", False), (32, "float", True)])
def test_48k_versions_give_the_same_records(two_conversations, tmp_path, capsys, bits, encoding, extensible):
    path, audio, shares, starts = two_conversations
    base = analyze(path).sessions
    hi = write_stream(tmp_path / "hi.wav", _upsampled(audio, 3), 3 * len(audio), audio.shape[1], 3 * RATE,
                      bits, encoding, extensible)
    try:
        notes: list[str] = []
        got = analyze(hi, converting=notes.append)
        assert notes == [f"hi.wav: 48000 Hz {bits}-bit {'float' if encoding == 'float' else 'integer'}, "
                         f"4 channels; converted to 16-bit 16000 Hz (polyphase resampler, x1/3) on the way in"]
        _check_sessions(got.sessions, shares, starts)
        for a, b in zip(base, got.sessions):
            for key in ("share", "talk_s"):
                tol = 0.01 if key == "share" else 0.01 * a["duration_s"]
                assert abs(a["talkers"][0][key] - b["talkers"][0][key]) <= tol, (key, a["talkers"], b["talkers"])
            assert abs(a["duration_s"] - b["duration_s"]) <= 1
            assert a["start"] == b["start"] and a["end_reason"] == b["end_reason"]
    finally:
        Path(hi).unlink()
