"""The conversation simulator: determinism, WAV format, ground truth, geometry,
noise, heat, voices and the `talkbalance scene` command."""

from __future__ import annotations

import json
import math
import wave

import numpy as np
import pytest
import talkbalance.fw  # noqa: F401  (puts the firmware's tbfw on the path)
from talkbalance import boardfile, paths, scenesim, speech
from talkbalance.cli import main
from talkbalance.errors import InputError, ToolMissing
from tbfw.wav import WavReader  # noqa: E402

SPEED_OF_SOUND = 343.0
HAS_ESPEAK = speech.espeak_binary() is not None
needs_espeak = pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed (scripts/setup installs it)")


@pytest.fixture(scope="module")
def reverberant():
    """A 20 s reverberant, noisy scene shared by the format and truth tests."""
    cfg = scenesim.SceneConfig(seed=5, minutes=1 / 3, voices="synthetic", rt60_s=0.4, snr_db=20,
                            initiator_az_deg=40, partner_az_deg=180, rotation_deg=30)
    return cfg, scenesim.render(cfg)


def _codes(truth: dict) -> np.ndarray:
    return np.frombuffer(truth["frames"].encode(), dtype=np.uint8) - ord("0")


def _lag(late: np.ndarray, early: np.ndarray, max_lag: int = 8) -> float:
    """Arrival time at `late` minus arrival at `early`, in samples (GCC-PHAT
    with parabolic interpolation)."""
    n = 1 << int(np.ceil(np.log2(len(late) + max_lag)))
    spec = np.fft.rfft(late, n) * np.conj(np.fft.rfft(early, n))
    corr = np.fft.irfft(spec / (np.abs(spec) + 1e-12), n)
    corr = np.concatenate([corr[-max_lag:], corr[:max_lag + 1]])
    k = int(np.argmax(corr[1:-1])) + 1
    y0, y1, y2 = corr[k - 1], corr[k], corr[k + 1]
    return k - max_lag + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)


def _talker_samples(truth: dict, who: int, samples: int) -> np.ndarray:
    """Sample mask of frames where only talker `who` (0 initiator) speaks."""
    hop = truth["rate"] * truth["frame_ms"] // 1000
    mask = np.repeat(_codes(truth) == who + 1, hop)
    return np.concatenate([mask, np.zeros(samples - len(mask), dtype=bool)])


# --- determinism and format ---------------------------------------------------

def test_same_seed_gives_the_same_scene_and_another_seed_does_not():
    cfg = scenesim.SceneConfig(seed=11, minutes=0.2, voices="synthetic", rt60_s=0.3)
    a, b = scenesim.render(cfg), scenesim.render(cfg)
    assert np.array_equal(a.audio, b.audio)
    assert a.truth == b.truth
    c = scenesim.render(scenesim.with_overrides(cfg, seed=12))
    assert not np.array_equal(a.audio, c.audio)
    assert a.truth["frames"] != c.truth["frames"]


def test_wav_is_16_bit_pcm_in_board_order_and_never_clips(tmp_path, reverberant):
    cfg, result = reverberant
    wav_path = tmp_path / "scene.wav"
    truth_path = scenesim.write(result, wav_path)
    assert truth_path == tmp_path / "scene.json"
    with wave.open(str(wav_path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (4, 16000, 2)
        assert w.getnframes() == 20 * 16000
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 4)
    assert np.array_equal(data, result.audio)
    peak = int(np.max(np.abs(data.astype(np.int32))))
    assert 3000 < peak < 32767
    with open(wav_path, "rb") as f:      # the firmware's own reader accepts it
        reader = WavReader(f)
        assert (reader.channels, reader.rate, reader.frames) == (4, 16000, 20 * 16000)
    assert json.loads(truth_path.read_text()) == json.loads(json.dumps(result.truth))


def test_two_microphone_board_gives_two_channels(tmp_path):
    desc = json.loads(paths.board_path().read_text())
    desc["mics"], desc["i2s"], desc["pairs"] = desc["mics"][:2], desc["i2s"][:1], desc["pairs"][:1]
    path = tmp_path / "board.json"
    path.write_text(json.dumps(desc))
    result = scenesim.render(scenesim.SceneConfig(seed=2, minutes=0.2, voices="synthetic"), boardfile.load(path))
    assert result.audio.shape == (12 * 16000, 2)
    assert result.truth["channels"] == 2
    assert len(result.truth["room"]["mic_gain_db"]) == 2


# --- ground truth ------------------------------------------------------------------

def test_truth_fields_agree_with_each_other(reverberant):
    cfg, result = reverberant
    t = result.truth
    assert t["schema"] == 1 and t["seed"] == 5 and t["rate"] == 16000 and t["channels"] == 4
    assert t["frame_ms"] == 20 and t["duration_s"] == 20.0
    assert (t["rt60_s"], t["snr_db"], t["rotation_deg"]) == (0.4, 20, 30)
    assert t["room"]["rt60_measured_s"] == pytest.approx(0.4, rel=0.25)
    assert [x["role"] for x in t["talkers"]] == ["initiator", "partner"]
    assert t["first_speaker"] == "initiator"
    assert len(t["frames"]) == 1000 and set(t["frames"]) <= set("0123")
    counts = {c: t["frames"].count(c) for c in "0123"}
    talk_i = (counts["1"] + counts["3"]) * 0.02
    talk_p = (counts["2"] + counts["3"]) * 0.02
    assert t["talk_s"]["initiator"] == pytest.approx(talk_i)
    assert t["talk_s"]["partner"] == pytest.approx(talk_p)
    assert t["initiator_share"] == pytest.approx(talk_i / (talk_i + talk_p))
    assert talk_i > 2 and talk_p > 2


def test_frames_lie_inside_segments_and_segments_are_well_formed(reverberant):
    _, result = reverberant
    t = result.truth
    codes = _codes(t)
    assert t["segments"] == sorted(t["segments"], key=lambda s: (s[0], s[2]))
    first = t["segments"][0]
    assert first[2] == "initiator" and first[3] == "turn"
    for who, role in enumerate(("initiator", "partner")):
        own = [s for s in t["segments"] if s[2] == role]
        for (a0, a1, _, kind), (b0, _, _, _) in zip(own, own[1:]):
            assert 0 <= a0 < a1 <= t["duration_s"] and kind in ("turn", "backchannel", "interruption")
            assert a1 <= b0, "one talker's utterances never overlap"
        inside = np.zeros(len(codes), dtype=bool)
        for start, end, _, _ in own:
            inside[int(start / 0.02):int(math.ceil(end / 0.02))] = True
        active = (codes & (who + 1)) > 0
        assert active.any() and not (active & ~inside).any()


@pytest.mark.parametrize("share, voices", [(0.2, "synthetic"), (0.45, "synthetic"),
                                           pytest.param(0.3, "espeak", marks=needs_espeak)])
def test_requested_share_is_met_over_five_minutes(share, voices):
    conv = scenesim.converse(scenesim.SceneConfig(seed=21, minutes=5, share=share, voices=voices))
    talk_i, talk_p = scenesim.talk_seconds(conv.frames)
    assert abs(talk_i / (talk_i + talk_p) - share) < 0.05
    kinds = {s[3] for s in conv.segments}
    assert kinds == {"turn", "backchannel", "interruption"}
    gaps = [b[0] - a[1] for a, b in zip(conv.segments, conv.segments[1:]) if a[3] == b[3] == "turn"]
    assert gaps and min(gaps) > 0.05   # replies after a pause


def test_partner_can_speak_first():
    conv = scenesim.converse(scenesim.SceneConfig(seed=8, minutes=0.3, first="partner", voices="synthetic"))
    assert conv.segments[0][2] == "partner"
    first_active = conv.frames.lstrip("0")[0]
    assert first_active in "23"


def test_a_quiet_start_delays_the_first_words():
    base = scenesim.SceneConfig(seed=8, minutes=0.75, voices="synthetic")
    plain = scenesim.converse(base)
    later = scenesim.converse(scenesim.with_overrides(base, quiet_start_s=10.0))
    assert abs(later.segments[0][0] - plain.segments[0][0] - 10.0) < 1e-6
    assert later.segments[0][2] == plain.segments[0][2] == "initiator"
    # the truth's frames: nobody speaks before then
    assert later.frames.index(next(c for c in later.frames if c != "0")) >= int(later.segments[0][0] / 0.02)
    assert later.frames.strip("0") and later.segments[-1][1] <= 45.0


# --- geometry -------------------------------------------------------------------

@pytest.mark.parametrize("rotation", [0.0, 90.0, 217.0])
def test_anechoic_lags_match_the_geometry(rotation):
    cfg = scenesim.SceneConfig(seed=4, minutes=0.25, voices="synthetic", rt60_s=0.0, snr_db=40,
                            initiator_az_deg=30, partner_az_deg=200, rotation_deg=rotation)
    result = scenesim.render(cfg)
    t, x = result.truth, result.audio.astype(np.float64)
    mics = np.array(t["room"]["mics_m"])
    for who, talker in enumerate(t["talkers"]):
        assert talker["azimuth_deg"] == pytest.approx((talker["room_azimuth_deg"] - rotation) % 360)
        mask = _talker_samples(t, who, len(x))
        assert mask.sum() > 16000
        src = np.array(t["room"]["talkers_m"][who])
        az = math.radians(talker["azimuth_deg"])
        lags = []
        for plus, minus, along in ((0, 1, math.cos(az)), (2, 3, math.sin(az))):
            measured = _lag(x[mask, minus], x[mask, plus])
            exact = (np.linalg.norm(src - mics[minus]) - np.linalg.norm(src - mics[plus])) / SPEED_OF_SOUND * 16000
            far_field = 0.10 * along / SPEED_OF_SOUND * 16000    # d cos(az) / c, in samples
            assert measured == pytest.approx(exact, abs=0.25)
            assert measured == pytest.approx(far_field, abs=0.6)    # talkers sit above the table
            if abs(far_field) > 1:
                assert np.sign(measured) == np.sign(far_field)
            lags.append(measured)
        found = math.degrees(math.atan2(lags[1], lags[0])) % 360
        assert abs((found - talker["azimuth_deg"] + 180) % 360 - 180) < 5


def test_rotation_changes_device_frame_azimuths_only():
    base = scenesim.SceneConfig(seed=3, minutes=0.2, voices="synthetic", initiator_az_deg=100, partner_az_deg=250)
    a = scenesim.render(base).truth
    b = scenesim.render(scenesim.with_overrides(base, rotation_deg=120)).truth
    for ta, tb in zip(a["talkers"], b["talkers"]):
        assert ta["room_azimuth_deg"] == tb["room_azimuth_deg"]
        assert (ta["azimuth_deg"] - tb["azimuth_deg"]) % 360 == pytest.approx(120)
    assert a["frames"] == b["frames"] and a["room"]["talkers_m"] == b["room"]["talkers_m"]
    assert a["room"]["mics_m"] != b["room"]["mics_m"]
    assert [t["azimuth_deg"] for t in b["talkers"]] == [340, 130]


# --- noise, gains, heat ------------------------------------------------------------

def test_noise_is_at_the_requested_snr_and_gains_mismatch_slightly():
    cfg = scenesim.SceneConfig(seed=6, minutes=0.2, voices="synthetic", rt60_s=0.3, snr_db=10)
    loud_noise = scenesim.render(cfg)
    quiet_noise = scenesim.render(scenesim.with_overrides(cfg, snr_db=30))
    # Same seed: same speech and the same noise, 20 dB apart, so the noise
    # (and from it the speech) can be taken apart exactly.
    a, b = loud_noise.audio.astype(np.float64), quiet_noise.audio.astype(np.float64)
    noise = (a - b) / (1 - 10 ** (-20 / 20))
    speech_only = a - noise
    active = np.repeat(_codes(loud_noise.truth) > 0, 320)
    p_speech = np.mean(speech_only[active] ** 2)
    p_noise = np.mean(noise ** 2)
    assert 10 * math.log10(p_speech / p_noise) == pytest.approx(10, abs=0.5)
    gains = loud_noise.truth["room"]["mic_gain_db"]
    assert len(gains) == 4 and all(abs(g) <= 1.0 for g in gains) and len(set(gains)) == 4
    # the noise has a coherent low-frequency part and independent parts per microphone
    coherence = np.corrcoef(noise.T)
    assert 0.05 < coherence[0, 2] < 0.95


def test_heated_passages_are_louder_with_more_interruptions():
    conv = scenesim.converse(scenesim.SceneConfig(seed=9, minutes=8, heat=3, voices="synthetic"))
    assert len(conv.heat) == 3
    inside = np.zeros(conv.samples, dtype=bool)
    for start, end in conv.heat:
        assert 0 < start < end <= conv.samples / conv.rate
        mid = int((start + end) / 2 * conv.rate)
        assert 20 * math.log10(conv.heat_gain[mid]) >= 4.9
        inside[int(start * conv.rate):int(end * conv.rate)] = True
    assert np.all(conv.heat_gain[~inside] == 1.0)

    def rate(segments, heated):
        starts = [s for s in segments if inside[int(s[0] * conv.rate)] == heated and s[3] != "backchannel"]
        return sum(s[3] == "interruption" for s in starts) / max(1, len(starts))

    assert rate(conv.segments, True) > rate(conv.segments, False) + 0.15


def test_heated_passage_is_louder_in_the_recording():
    cfg = scenesim.SceneConfig(seed=10, minutes=1.5, heat=1, voices="synthetic", rt60_s=0.0, snr_db=40)
    result = scenesim.render(cfg)
    t = result.truth
    (start, end), = t["heat"]
    level = np.mean(result.audio.astype(np.float64) ** 2, axis=1)
    hop = 320
    codes = _codes(t)
    frame_level = level[:len(codes) * hop].reshape(len(codes), hop).mean(axis=1)
    times = np.arange(len(codes)) * 0.02
    hot = (codes > 0) & (times > start + 2) & (times < end - 2)
    calm = (codes > 0) & ((times < start - 1) | (times > end + 1))
    assert hot.sum() > 200 and calm.sum() > 200
    assert 10 * math.log10(frame_level[hot].mean() / frame_level[calm].mean()) > 3


# --- voices --------------------------------------------------------------------

def test_synthetic_voice_is_speech_like():
    rng = np.random.default_rng(1)
    low, high = speech.pick_voices("synthetic", rng, 16000)
    assert low.name.startswith("synthetic:") and low.name != high.name
    for voice in (low, high):
        audio = voice.utterance(rng, 6.0)
        assert 5.0 < len(audio) / 16000 < 9.0
        frames = scenesim.activity(audio, 16000)
        assert 0.5 < frames.mean() < 0.97              # speech with pauses between phrases
        # pitch near the voice's own: autocorrelation peak in a voiced stretch
        hop = 320
        power = np.mean(audio[:len(frames) * hop].reshape(-1, hop) ** 2, axis=1)
        k = int(np.argmax(power))
        chunk = audio[k * hop - 320:k * hop + 640] if k > 1 else audio[:960]
        ac = np.correlate(chunk, chunk, "full")[len(chunk) - 1:]
        lo, hi = int(16000 / 400), int(16000 / 70)
        f0 = 16000 / (lo + int(np.argmax(ac[lo:hi])))
        assert 0.6 * voice.f0_hz < f0 < 1.6 * voice.f0_hz
        bc = voice.backchannel(rng)
        assert 0.15 < len(bc) / 16000 < 1.0


@needs_espeak
def test_espeak_voices_render_a_scene():
    conv = scenesim.converse(scenesim.SceneConfig(seed=2, minutes=0.4, voices="espeak"))
    assert all(v.startswith("espeak:") for v in conv.voices) and conv.voices[0] != conv.voices[1]
    assert "1" in conv.frames and "2" in conv.frames
    again = scenesim.converse(scenesim.SceneConfig(seed=2, minutes=0.4, voices="espeak"))
    assert np.array_equal(conv.tracks, again.tracks)


def test_espeak_missing_falls_back_or_fails_clearly(monkeypatch):
    monkeypatch.setattr(speech, "espeak_binary", lambda: None)
    with pytest.raises(ToolMissing, match="espeak-ng"):
        scenesim.converse(scenesim.SceneConfig(seed=1, minutes=0.1, voices="espeak"))
    conv = scenesim.converse(scenesim.SceneConfig(seed=1, minutes=0.1, voices="auto"))
    assert all(v.startswith("synthetic:") for v in conv.voices)


# --- the command --------------------------------------------------------------------

def test_cli_writes_wav_and_truth(tmp_path, capsys):
    wav_path, truth_path = tmp_path / "talk.wav", tmp_path / "truth.json"
    status = main(["scene", str(wav_path), "--truth", str(truth_path), "--seed", "4", "--minutes", "0.2",
                   "--voices", "synthetic", "--rotation", "45", "--distance", "0.8", "1.2",
                   "--initiator-az", "10", "--partner-az", "150", "--first", "partner", "--heat", "0"])
    assert status == 0
    truth = json.loads(truth_path.read_text())
    assert [t["distance_m"] for t in truth["talkers"]] == [0.8, 1.2]
    assert [t["azimuth_deg"] for t in truth["talkers"]] == [325, 105]
    assert truth["first_speaker"] == "partner" and truth["heat"] == []
    with wave.open(str(wav_path)) as w:
        assert w.getnchannels() == 4 and w.getnframes() == 12 * 16000
    out = capsys.readouterr().out
    assert "initiator share" in out and str(truth_path) in out


@pytest.mark.parametrize("args, message", [
    (["--share", "1.5"], "--share"),
    (["--rt60", "0.05"], "--rt60"),
    (["--distance", "0.1", "1"], "--distance"),
    (["--minutes", "0"], "--minutes"),
    (["--seed", "-1"], "--seed"),
    (["--initiator-az", "nan"], "--initiator-az"),
    (["--partner-az", "1e309"], "--partner-az"),
    (["--rotation", "inf"], "--rotation"),
    (["--noise", "tv", "--noise-az", "nan"], "--noise-az"),
    (["--quiet-start", "-1"], "--quiet-start"),
    (["--quiet-start", "nan"], "--quiet-start"),
    (["--minutes", "1", "--quiet-start", "31"], "--quiet-start"),
])
def test_cli_rejects_bad_values(tmp_path, capsys, args, message):
    assert main(["scene", str(tmp_path / "x.wav"), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("talkbalance: ") and message in err
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("where", ["missing/x.wav", ".", "truth-folder"])
def test_an_output_that_cannot_be_written_is_refused_before_rendering(tmp_path, monkeypatch, capsys, where):
    def never(*args, **kwargs):
        raise AssertionError("rendered before the output was checked")

    monkeypatch.setattr(scenesim, "render", never)
    (tmp_path / "truth-folder").mkdir()
    wav, truth = (tmp_path / "x.wav", tmp_path / "truth-folder") if where == "truth-folder" else (tmp_path / where, None)
    args = ["scene", str(wav), "--minutes", "60"] + (["--truth", str(truth)] if truth else [])
    assert main(args) == 1
    err = capsys.readouterr().err
    flag, path = ("--truth", truth) if truth else ("OUT.wav", wav)
    assert err.startswith(f"talkbalance: {flag} {path}: cannot be written (") and err.count("\n") == 2  # the line and its hint


def test_unwritable_output_is_a_user_error(tmp_path):
    result = scenesim.render(scenesim.SceneConfig(seed=1, minutes=0.05, voices="synthetic", rt60_s=0))
    with pytest.raises(InputError, match="cannot write"):
        scenesim.write(result, tmp_path / "missing" / "x.wav")


def test_random_config_draws_from_the_evaluation_ranges():
    for seed in range(30):
        cfg = scenesim.random_config(seed)
        assert cfg == scenesim.random_config(seed)
        cfg.validate()
        assert 0.2 <= cfg.rt60_s <= 0.6 and 10 <= cfg.snr_db <= 30 and 0.2 <= cfg.share <= 0.5
        apart = abs((cfg.initiator_az_deg - cfg.partner_az_deg + 180) % 360 - 180)
        assert 89.9 <= apart <= 180
