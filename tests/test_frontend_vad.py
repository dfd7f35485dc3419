"""Voice activity of the firmware front end (MicroPython unix port): F1 on
speech-like bursts in noise, silence on stationary noise, faults."""

from __future__ import annotations

import numpy as np
import pytest
from talkbalance import reference as R
from talkbalance import signals as S

RATE = 16000
FRAME = 320




def _frame_truth(active: np.ndarray, frames: int) -> np.ndarray:
    return np.array([active[f * FRAME:(f + 1) * FRAME].mean() >= 0.5 for f in range(frames)])


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = np.sum(pred & truth)
    fp = np.sum(pred & ~truth)
    fn = np.sum(~pred & truth)
    return 2 * tp / (2 * tp + fp + fn)


def _bursts_in_noise(desc, colour: str, snr_db: float, seconds: float, seed: int):
    rng = np.random.default_rng(seed)
    src, active = S.speech_bursts(seconds, RATE, rng)
    chans = S.render_far_field(src, desc, rng.uniform(0, 360))
    gen = S.white if colour == "white" else S.pink
    noise = np.stack([gen(src.size, rng) for _ in range(4)]) * np.sqrt(10 ** (-snr_db / 10))
    return S.to_int16(chans + noise, 0.05), active


@pytest.mark.parametrize("colour", ["white", "pink"])
def test_f1_on_speech_bursts_at_10db_snr(desc, cfg, colour):
    pcm, active = _bursts_in_noise(desc, colour, 10.0, 40.0, seed=11 if colour == "white" else 12)
    fw = R.run_firmware(pcm, desc, cfg).arrays()
    ref = R.run_reference(pcm, desc, cfg).arrays()
    truth = _frame_truth(active, fw["speech"].size)
    live = ~fw["warming_up"]
    f1 = _f1(fw["speech"][live], truth[live])
    f1_ref = _f1(ref["speech"][live], truth[live])
    print(f"{colour}: F1 firmware {f1:.3f}, reference {f1_ref:.3f}, "
          f"speech truth {truth[live].mean():.2f}")
    assert f1 >= 0.9
    assert abs(f1 - f1_ref) <= 0.02


def _noise(kind: str, n: int, rng) -> np.ndarray:
    if kind == "white":
        return S.white(n, rng)
    if kind == "pink":
        return S.pink(n, rng)
    # fan: low-frequency rumble (integrated white noise, high-passed) plus blade hum
    x = np.cumsum(S.white(n + 1600, rng))
    x = (x - np.convolve(x, np.ones(801) / 801, mode="same"))[800:-800]
    t = np.arange(n) / RATE
    hum = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) / (k + 1) for k, f in enumerate((120, 240, 360)))
    x = x / x.std() + 0.5 * hum
    return x / x.std()


@pytest.mark.parametrize("kind", ["white", "pink", "fan"])
def test_no_speech_in_60_s_of_stationary_noise(desc, cfg, kind):
    rng = np.random.default_rng(21)
    n = 60 * RATE
    chans = np.stack([_noise(kind, n, rng) for _ in range(4)])
    pcm = S.to_int16(chans, 0.02)
    pcm = np.clip(pcm.astype(np.int32) + 3000, -32768, 32767).astype(np.int16)  # with a DC offset
    fw = R.run_firmware(pcm, desc, cfg).arrays()
    settled = np.arange(fw["speech"].size) >= 2 * 50  # after 2 s
    assert fw["speech"][settled].sum() == 0, int(fw["speech"][settled].sum())
    assert fw["dead_mask"][-1] == 0
    # the floor sits at the noise level, not at the DC offset
    assert abs(fw["noise_db"][-1] - fw["frame_db"][settled].mean()) < 2.0
    assert fw["frame_db"][settled].mean() < -25.0


def test_floor_follows_a_noise_step_and_recovers_after_a_loud_event(desc, cfg):
    rng = np.random.default_rng(5)
    quiet, loud_s = 0.003, 0.05
    n = 40 * RATE
    chans = np.stack([S.pink(n, rng) for _ in range(4)]) * quiet
    # a fan starts at 10 s (+15 dB) and stops at 25 s; a shout from 30 to 33 s
    chans[:, 10 * RATE:25 * RATE] *= 10 ** (15 / 20)
    shout = S.speech_like(3 * RATE, RATE, rng) * loud_s
    chans[:, 30 * RATE:33 * RATE] += shout
    fw = R.run_firmware(S.to_int16(chans, 1.0), desc, cfg).arrays()
    t = np.arange(fw["speech"].size) * 0.02
    # after the step the floor catches up within 8 s and speech stops
    assert fw["speech"][(t > 18) & (t < 25)].sum() == 0
    # when the fan stops the floor drops within a second
    assert fw["noise_db"][(t > 26) & (t < 29)].max() < fw["noise_db"][(t > 5) & (t < 10)].mean() + 2
    # a shout is speech, and a second after it the floor is back near the quiet level
    assert fw["speech"][(t > 30.5) & (t < 32.5)].mean() > 0.9
    assert abs(fw["noise_db"][(t > 34.5) & (t < 40)].mean() - fw["noise_db"][(t > 5) & (t < 10)].mean()) < 2
    assert fw["speech"][(t > 34.5) & (t < 40)].sum() == 0


def test_clicks_are_not_speech(desc, cfg):
    rng = np.random.default_rng(8)
    n = 20 * RATE
    chans = np.stack([S.white(n, rng) for _ in range(4)]) * 0.002
    for start in range(2 * RATE + 1234, n - 100, RATE // 2):  # a tap every 0.5 s, all microphones
        chans[:, start:start + 3] += np.array([0.9, -0.6, 0.3])
    fw = R.run_firmware(S.to_int16(chans, 1.0), desc, cfg).arrays()
    live = ~fw["warming_up"]
    assert fw["click"][live].sum() >= 30
    assert fw["speech"][live].sum() == 0


def test_vad_and_direction_survive_a_dead_microphone(desc, cfg):
    pcm, active = _bursts_in_noise(desc, "white", 10.0, 30.0, seed=31)
    pcm[2] = 0  # Y+ disconnected (reads zeros)
    fw = R.run_firmware(pcm, desc, cfg).arrays()
    truth = _frame_truth(active, fw["speech"].size)
    live = ~fw["warming_up"]
    assert _f1(fw["speech"][live], truth[live]) >= 0.9
    assert fw["dead_mask"][-1] == 1 << 2
    late = np.arange(fw["valid"].size) > 100
    assert fw["valid"][late].sum() > 50
    assert fw["ambiguous"][late & fw["valid"]].all()
