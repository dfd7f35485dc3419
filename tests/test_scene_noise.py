"""The scene simulator's noise types: diffuse noise with the coherence of a
spherically diffuse field, babble, point sources in the room, the truth's
record of them, and the command's options."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import signal as sps
from talkbalance import boardfile, scenenoise, scenesim, signals, speech
from talkbalance.cli import main
from test_scene import _lag

RATE = 16000
SPEED_OF_SOUND = 343.0
BAND_HZ = 250.0


def _board_mics() -> np.ndarray:
    desc = boardfile.load()
    return np.array([[m["x_m"], m["y_m"], 0.0] for m in sorted(desc["mics"], key=lambda m: m["channel"])])


def _real_coherence(x: np.ndarray, y: np.ndarray, rate: int = RATE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch estimates: frequencies, real part of the complex coherence, magnitude-squared coherence."""
    f, pxy = sps.csd(x, y, rate, nperseg=512)
    _, pxx = sps.welch(x, rate, nperseg=512)
    _, pyy = sps.welch(y, rate, nperseg=512)
    return f, np.real(pxy) / np.sqrt(pxx * pyy), np.abs(pxy) ** 2 / (pxx * pyy)


def _bands(f: np.ndarray, values: np.ndarray, top_hz: float = 7500.0) -> list[tuple[float, float]]:
    """Mean of `values` in BAND_HZ bands from 50 Hz to `top_hz`: (band centre, mean)."""
    out = []
    for lo in np.arange(0.0, top_hz, BAND_HZ):
        sel = (f >= max(lo, 50.0)) & (f < lo + BAND_HZ)
        out.append((lo + BAND_HZ / 2, float(values[sel].mean())))
    return out


def _check_diffuse(noise: np.ndarray, mics: np.ndarray, pairs, tolerance: float) -> None:
    """Per band, each pair's real coherence and magnitude-squared coherence
    within `tolerance` of the band mean of sinc(2 f d / c) and its square."""
    for a, b in pairs:
        d = float(np.linalg.norm(mics[a] - mics[b]))
        f, real, msc = _real_coherence(noise[a], noise[b])
        theory = np.sinc(2 * f * d / SPEED_OF_SOUND)
        for (centre, got), (_, want) in zip(_bands(f, real), _bands(f, theory)):
            assert got == pytest.approx(want, abs=tolerance), f"pair {a}-{b} ({d:.3f} m) at {centre:g} Hz"
        for (centre, got), (_, want) in zip(_bands(f, msc), _bands(f, theory ** 2)):
            assert got == pytest.approx(want, abs=tolerance), f"pair {a}-{b} MSC at {centre:g} Hz"


def test_diffuse_mix_has_the_coherence_of_a_spherically_diffuse_field():
    mics = _board_mics()
    rng = np.random.default_rng(3)
    independent = np.stack([signals.pink(8 * RATE, rng) for _ in range(len(mics))])
    noise = signals.diffuse_mix(independent, mics, RATE, SPEED_OF_SOUND)
    # both 10 cm pairs, and a 7 cm diagonal pair
    _check_diffuse(noise, mics, [(0, 1), (2, 3), (0, 2)], tolerance=0.05)
    # the 10 cm pairs: coherent (above 0.8) at low frequencies, as a real room's noise is
    f, real, _ = _real_coherence(noise[0], noise[1])
    assert real[(f > 50) & (f < 500)].min() > 0.8
    # each microphone keeps the signals' spectrum (1/f noise's power overall
    # lies mostly below 10 Hz, in too few degrees of freedom to compare)
    _, p_in = sps.welch(independent[0], RATE, nperseg=512)
    _, p_out = sps.welch(noise[0], RATE, nperseg=512)
    octaves = [(125, 250), (500, 1000), (2000, 4000)]
    for lo, hi in octaves:
        sel = (f >= lo) & (f < hi)
        assert 10 * math.log10(p_out[sel].mean() / p_in[sel].mean()) == pytest.approx(0, abs=1.0)


def test_diffuse_mix_of_far_apart_microphones_is_independent():
    mics = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    rng = np.random.default_rng(4)
    noise = signals.diffuse_mix(rng.standard_normal((2, 4 * RATE)), mics, RATE)
    f, real, _ = _real_coherence(noise[0], noise[1])
    assert np.abs(real[f > 100]).max() < 0.2


def _noise_of(cfg: scenesim.SceneConfig) -> tuple[np.ndarray, dict]:
    """The scene's noise as recorded (channels, samples), separated from the
    speech by rendering the same scene 20 dB quieter in noise; and the truth."""
    loud = scenesim.render(cfg)
    quiet = scenesim.render(scenesim.with_overrides(cfg, snr_db=cfg.snr_db + 20))
    noise = (loud.audio.astype(np.float64) - quiet.audio.astype(np.float64)) / (1 - 10 ** (-20 / 20))
    return noise.T, loud.truth


@pytest.mark.parametrize("kind", ["diffuse-pink", "babble"])
def test_scene_diffuse_noise_has_the_theoretical_coherence(kind):
    cfg = scenesim.SceneConfig(seed=2, minutes=0.15, voices="synthetic", rt60_s=0.3, snr_db=0, noise=kind,
                            rotation_deg=25)
    noise, truth = _noise_of(cfg)
    mics = np.array(truth["room"]["mics_m"])
    _check_diffuse(noise, mics, [(0, 1), (2, 3)], tolerance=0.1 if kind == "babble" else 0.07)
    # the level the truth records, from the separated noise (the microphones' gains put back)
    gains = 10 ** (np.array(truth["room"]["mic_gain_db"]) / 10)
    measured_dbfs = 10 * math.log10(np.mean(np.mean(noise ** 2, axis=1) / gains) / 32767 ** 2)
    assert truth["noise"]["level_dbfs"] == pytest.approx(measured_dbfs, abs=0.3)
    assert truth["noise"]["kind"] == kind and truth["noise"]["parts"] == [{"part": kind.replace("diffuse-", ""),
                                                                          "power_share": 1.0}]


def test_babble_is_many_voices_not_steady_noise_nor_one_voice():
    rng = np.random.default_rng(5)
    mix = scenenoise.babble(rng, 2, 6 * RATE, RATE, "synthetic")
    one = scenenoise.talk(speech.pick_voices("synthetic", rng, RATE)[0], rng, 6.0, RATE,
                           (1.5, 6.0), (0.2, 1.2))

    def spread_db(x):    # spread of the 50 ms levels, 10th to 90th percentile
        hop = RATE // 20
        level = 10 * np.log10(np.mean(x[:len(x) // hop * hop].reshape(-1, hop) ** 2, axis=1) + 1e-12)
        return np.percentile(level, 90) - np.percentile(level, 10)

    steady = spread_db(np.random.default_rng(6).standard_normal(6 * RATE))
    assert steady < spread_db(mix[0]) < spread_db(one)
    # independent between the signals before they are made diffuse
    assert abs(np.corrcoef(mix)[0, 1]) < 0.1
    # speech's long-term spectrum: most power below 1 kHz
    f, p = sps.welch(mix[0], RATE, nperseg=1024)
    assert p[(f > 100) & (f < 1000)].sum() > p[f >= 1000].sum()


@pytest.mark.parametrize("kind", ["fan", "tv", "music"])
def test_point_source_is_heard_from_where_the_truth_puts_it(kind):
    cfg = scenesim.SceneConfig(seed=3, minutes=0.1, voices="synthetic", rt60_s=0, snr_db=0, noise=kind,
                            noise_az_deg=30, noise_distance_m=1.2, rotation_deg=50)
    noise, truth = _noise_of(cfg)
    [part] = truth["noise"]["parts"]
    assert part["part"] == kind and part["power_share"] == 1.0
    assert part["room_azimuth_deg"] == pytest.approx(30, abs=0.01)
    assert part["azimuth_deg"] == pytest.approx(340, abs=0.01) and part["distance_m"] == pytest.approx(1.2, abs=1e-3)
    src = np.array(part["room_m"])
    mics = np.array(truth["room"]["mics_m"])
    arrival = np.linalg.norm(mics - src, axis=1) / SPEED_OF_SOUND * RATE
    for plus, minus in ((0, 1), (2, 3)):
        assert _lag(noise[minus], noise[plus]) == pytest.approx(arrival[minus] - arrival[plus], abs=0.25)


def test_tv_default_place_and_mixed_parts():
    cfg = scenesim.SceneConfig(seed=4, minutes=0.05, voices="synthetic", rt60_s=0.3, snr_db=10, noise="mixed")
    a, b = scenesim.render(cfg), scenesim.render(cfg)
    assert np.array_equal(a.audio, b.audio)
    noise = a.truth["noise"]
    assert [p["part"] for p in noise["parts"]] == ["pink", "babble", "fan", "tv"]
    assert sum(p["power_share"] for p in noise["parts"]) == pytest.approx(1.0)
    dims = a.truth["room"]["dims_m"]
    fan, tv = noise["parts"][2], noise["parts"][3]
    assert fan["room_m"] == a.truth["room"]["fan_m"]
    assert all(0 < x < d for x, d in zip(tv["room_m"], dims))
    assert min(dims[0] - tv["room_m"][0], dims[1] - tv["room_m"][1]) == pytest.approx(0.3, abs=1e-3)


def test_default_noise_is_pink_fan_and_says_where_the_fan_is():
    cfg = scenesim.SceneConfig(seed=1, minutes=0.05, voices="synthetic")
    assert cfg.noise == "pink-fan"
    truth = scenesim.render(cfg).truth
    parts = truth["noise"]["parts"]
    assert [p["part"] for p in parts] == ["pink-independent", "fan"] and parts[1]["room_m"] == truth["room"]["fan_m"]


def test_rt60_of_one_second():
    truth = scenesim.render(scenesim.SceneConfig(seed=2, minutes=0.05, voices="synthetic", rt60_s=1.0,
                                           noise="diffuse-pink")).truth
    assert truth["room"]["rt60_measured_s"] == pytest.approx(1.0, rel=0.25)


def test_cli_noise_options(tmp_path, capsys):
    wav, truth_path = tmp_path / "n.wav", tmp_path / "n.json"
    assert main(["scene", str(wav), "--minutes", "0.05", "--voices", "synthetic", "--noise", "tv",
                 "--noise-az", "200", "--noise-distance", "1.5", "--snr", "15"]) == 0
    truth = json.loads(truth_path.read_text())
    assert truth["noise"]["kind"] == "tv" and truth["noise"]["snr_db"] == 15
    assert truth["noise"]["parts"][0]["distance_m"] == pytest.approx(1.5, abs=1e-3)
    assert truth["config"]["noise_az_deg"] == 200
    assert "noise: tv" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--noise", "diffuse-pink", "--noise-az", "10"], "--noise-az"),
    (["--noise", "fan", "--noise-distance", "5"], "--noise-distance"),
])
def test_cli_rejects_bad_noise_options(tmp_path, capsys, args, message):
    assert main(["scene", str(tmp_path / "x.wav"), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("talkbalance: ") and message in err
    assert not (tmp_path / "x.wav").exists()


# A 3 s pink-fan scene (seed 3, RT60 0.4 s, SNR 10 dB, synthetic voices) as
# the simulator rendered it before the noise types existed: every 4801st
# sample (int16, channel order) and each channel's RMS.
_BEFORE_SAMPLES = [[-409, -29, -425, 75], [-934, -494, 420, 22], [-580, -461, -748, -714], [-1009, 938, -633, -82],
                   [384, -152, 135, -58], [-354, -498, 20, -161], [261, 733, 675, -145], [-213, -316, -868, 47],
                   [-13, 98, 238, -411], [1545, 303, 46, 346]]
_BEFORE_RMS = [530.34, 522.38, 497.14, 482.96]


def test_default_scenes_are_the_same_as_before_the_noise_types():
    """The default noise renders what it rendered before (within 2 LSB per
    sample, for rounding on other machines), so the evaluation's figures on
    the default scenes stay valid. If this fails, the default scenes
    changed: regenerate the figures measured on them."""
    cfg = scenesim.SceneConfig(seed=3, minutes=0.05, voices="synthetic", rt60_s=0.4, snr_db=10)
    audio = scenesim.render(cfg).audio
    assert np.abs(audio[::4801].astype(int) - np.array(_BEFORE_SAMPLES)).max() <= 2
    rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2, axis=0))
    assert rms == pytest.approx(_BEFORE_RMS, rel=1e-3)
