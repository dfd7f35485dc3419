"""The firmware front end (on the MicroPython unix port) against known
delays and directions, and against the float reference."""

from __future__ import annotations

import numpy as np
import pytest
from talkbalance import reference as R
from talkbalance import signals as S
from talkbalance.fw import config

RATE = 16000




def _known_delay_recording(kind: str, lag_x: float, lag_y: float, seed: int) -> np.ndarray:
    """1 s of microphone noise alone, then 1.5 s of a source at 10 dB SNR
    reaching X- `lag_x` and Y- `lag_y` samples after X+ and Y+."""
    rng = np.random.default_rng(seed)
    lead, body = RATE, int(1.5 * RATE)
    src = S.white(body, rng) if kind == "white" else S.speech_like(body, RATE, rng)
    chans = np.zeros((4, lead + body))
    for ch, d in ((0, 0.0), (1, lag_x), (2, 0.0), (3, lag_y)):
        chans[ch, lead:] = S.delay(src, d)
        chans[ch] += S.white(lead + body, rng) * np.sqrt(0.1)  # 10 dB under the source's power
    return S.to_int16(chans, 0.05)


LAGS = [-4.6, -4.0, -3.25, -2.5, -1.75, -1.0, -0.4, 0.0, 0.3, 0.75, 1.5, 2.0, 2.6, 3.4, 4.0, 4.25, 4.6]


@pytest.mark.parametrize("kind", ["white", "speech"])
def test_known_delays_within_a_quarter_sample_at_10db_snr(desc, cfg, kind):
    worst_median = 0.0
    frame_errs = []
    for i, lag in enumerate(LAGS):
        other = -lag * 0.6 + 0.37  # the Y pair gets a different, also fractional, lag
        pcm = _known_delay_recording(kind, lag, other, seed=100 + i)
        out = R.run_firmware(pcm, desc, cfg).arrays()
        valid = out["valid"]
        assert valid.sum() >= 30, (kind, lag, int(valid.sum()))
        for p, truth in ((0, lag), (1, other)):
            est = out["lags"][valid, p]
            err = est - truth
            frame_errs.extend(np.abs(err))
            worst_median = max(worst_median, abs(float(np.median(est)) - truth))
    frame_errs = np.array(frame_errs)
    p95 = float(np.percentile(frame_errs, 95))
    print(f"{kind}: worst per-lag median error {worst_median:.3f}, per-frame median "
          f"{np.median(frame_errs):.3f}, p95 {p95:.3f}, max {frame_errs.max():.3f} samples")
    assert worst_median <= 0.25
    assert p95 <= 0.25


def _sweep_recording(desc, seed=7, step=5, snr_db=20.0):
    """A speech-like burst from every `step` degrees (0.6 s, then 0.4 s of
    noise only), anechoic far field, independent white noise per microphone."""
    rng = np.random.default_rng(seed)
    burst, gap = int(0.6 * RATE), int(0.4 * RATE)
    azimuths = list(range(0, 360, step))
    total = RATE + len(azimuths) * (burst + gap)
    chans = np.zeros((4, total))
    truth = np.full(total, np.nan)
    pos = RATE
    for az in azimuths:
        src = S.speech_like(burst, RATE, rng)
        chans[:, pos:pos + burst] = S.render_far_field(src, desc, az)
        truth[pos:pos + burst] = az
        pos += burst + gap
    chans += S.white(chans.size, rng).reshape(chans.shape) * np.sqrt(10 ** (-snr_db / 10))
    return S.to_int16(chans, 0.05), truth


def _angle_err(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + 180) % 360 - 180)


def test_anechoic_sweep_azimuth_error(desc, cfg):
    pcm, truth = _sweep_recording(desc)
    out = R.run_firmware(pcm, desc, cfg).arrays()
    n = RATE * cfg["frame_ms"] // 1000
    frames = out["valid"].size
    az_true = np.array([np.nanmedian(truth[f * n:(f + 1) * n]) if np.isfinite(truth[f * n:(f + 1) * n]).any()
                        else np.nan for f in range(frames)])
    use = out["valid"] & np.isfinite(az_true)
    errs = _angle_err(out["azimuth"][use], az_true[use])
    covered = len(set(az_true[use].astype(int)))
    print(f"sweep: {use.sum()} direction frames, {covered} directions, median {np.median(errs):.1f} deg, "
          f"p99 {np.percentile(errs, 99):.1f}, worst {errs.max():.1f}")
    assert covered == 72
    assert not out["ambiguous"][use].any()
    assert np.median(errs) <= 5.0
    assert errs.max() <= 15.0


def test_firmware_matches_reference_on_far_field_speech(desc, cfg):
    rng = np.random.default_rng(3)
    src, _act = S.speech_bursts(12, RATE, rng)
    chans = S.render_far_field(src, desc, 130.0)
    chans += S.white(chans.size, rng).reshape(chans.shape) * 0.1
    pcm = S.to_int16(chans, 0.05)
    fw = R.run_firmware(pcm, desc, cfg).arrays()
    ref = R.run_reference(pcm, desc, cfg).arrays()
    assert np.max(np.abs(fw["levels_db"] - ref["levels_db"])) <= 0.1
    assert np.max(np.abs(fw["frame_db"] - ref["frame_db"])) <= 0.1
    assert np.max(np.abs(fw["noise_db"] - ref["noise_db"])) <= 0.5
    assert np.mean(fw["speech"] == ref["speech"]) >= 0.98
    both = fw["valid"] & ref["valid"]
    assert both.sum() >= 0.9 * max(fw["valid"].sum(), ref["valid"].sum())
    assert np.max(np.abs(fw["lags"][both] - ref["lags"][both])) <= 0.05
    assert np.max(np.abs(fw["lag_conf"][both] - ref["lag_conf"][both])) <= 0.03
    assert np.max(_angle_err(fw["azimuth"][both], ref["azimuth"][both])) <= 1


def _one_pair_board(desc):
    board = {k: v for k, v in desc.items() if k not in ("channels", "pair_lags")}
    board["mics"] = board["mics"][:2]
    board["i2s"] = board["i2s"][:1]
    board["pairs"] = board["pairs"][:1]
    return config.validate_board(board)


@pytest.mark.parametrize("azimuth, tol", [(35.0, 5), (75.0, 5), (130.0, 5), (150.0, 5), (170.0, 12)])
def test_one_pair_board_gives_the_angle_from_its_axis(desc, cfg, azimuth, tol):
    """acos(lag / max lag): near the axis (170 deg) a lag error of 0.05 sample
    is already 4 degrees, so the tolerance there is wider."""
    one = _one_pair_board(desc)
    rng = np.random.default_rng(int(azimuth))
    src, _act = S.speech_bursts(6, RATE, rng)
    chans = S.render_far_field(src, one, azimuth)
    chans += S.white(chans.size, rng).reshape(chans.shape) * 0.1
    out = R.run_firmware(S.to_int16(chans, 0.05), one, cfg).arrays()
    v = out["valid"]
    assert v.sum() >= 50
    assert out["ambiguous"][v].all()
    # the mirror image (-azimuth) reads the same: the angle is from the x axis, 0..180
    assert np.all((out["azimuth"][v] >= 0) & (out["azimuth"][v] <= 180))
    assert np.median(_angle_err(out["azimuth"][v], azimuth)) <= tol


@pytest.mark.parametrize("frame_ms", [10, 32])
def test_other_frame_lengths_give_the_same_direction(desc, frame_ms):
    cfg = config.merge_user({"frame_ms": frame_ms})
    rng = np.random.default_rng(frame_ms)
    src, _act = S.speech_bursts(6, RATE, rng)
    chans = S.render_far_field(src, desc, 222.0)
    chans += S.white(chans.size, rng).reshape(chans.shape) * 0.1
    out = R.run_firmware(S.to_int16(chans, 0.05), desc, cfg).arrays()
    v = out["valid"]
    assert v.sum() >= 3000 // frame_ms
    assert np.median(_angle_err(out["azimuth"][v], 222.0)) <= 3
    ref = R.run_reference(S.to_int16(chans, 0.05), desc, cfg).arrays()
    assert np.mean(ref["speech"] == out["speech"]) >= 0.98


def _noisy_room(desc, seed, snr_db):
    """Speech-like bursts (0.6 s, then 0.4 s of noise only) from 20 azimuths,
    anechoic far field, in independent white noise per microphone `snr_db`
    under the speech's power."""
    rng = np.random.default_rng(seed)
    burst, gap = int(0.6 * RATE), int(0.4 * RATE)
    azimuths = [(37 * i + 11) % 360 for i in range(20)]
    total = 2 * RATE + len(azimuths) * (burst + gap)
    chans = np.zeros((4, total))
    truth = np.full(total, np.nan)
    pos = 2 * RATE
    for az in azimuths:
        src = S.speech_like(burst, RATE, rng)
        chans[:, pos:pos + burst] = S.render_far_field(src, desc, az)
        truth[pos:pos + burst] = az
        pos += burst + gap
    power = np.mean(chans[:, ~np.isnan(truth)] ** 2)
    noise = np.stack([S.white(total, rng) for _ in range(4)])
    chans += noise * np.sqrt(power * 10 ** (-snr_db / 10) / np.mean(noise ** 2))
    return S.to_int16(chans, 0.1), truth


def _frame_truth(truth, frames, n):
    return np.array([np.nanmedian(truth[f * n:(f + 1) * n]) if np.isfinite(truth[f * n:(f + 1) * n]).all()
                     else np.nan for f in range(frames)])


def test_two_frame_correlation_hears_more_directions_in_noise(desc, cfg, monkeypatch):
    """Speech 3 dB over the noise: the speech level stays under 9 dB over the
    floor, so quiet frames are correlated over two frames. Against the true
    azimuth, the firmware finds a correct direction (within 10 degrees) in
    more speech frames than the single-frame rule (the float reference with
    the averaging off), and no larger a share of its directions is wrong."""
    pcm, truth = _noisy_room(desc, 11, 3.0)
    n = RATE * cfg["frame_ms"] // 1000
    fw = R.run_firmware(pcm, desc, cfg).arrays()
    ref = R.run_reference(pcm, desc, cfg).arrays()
    monkeypatch.setattr(R, "AVG_SNR_DB", -1e9)
    single = R.run_reference(pcm, desc, cfg).arrays()
    az_true = _frame_truth(truth, fw["valid"].size, n)
    speech = np.isfinite(az_true)

    def counts(out):
        use = out["valid"] & speech
        ok = _angle_err(out["azimuth"][use], az_true[use]) <= 10
        return int(ok.sum()), int(use.sum() - ok.sum())

    good, bad = counts(fw)
    good_ref, _ = counts(ref)
    good1, bad1 = counts(single)
    print(f"3 dB SNR, {int(speech.sum())} speech frames: two frames {good} right, {bad} wrong; "
          f"reference {good_ref} right; single frames {good1} right, {bad1} wrong")
    assert abs(good - good_ref) <= 0.1 * good_ref  # the firmware follows the float maths
    assert good >= 2 * good1
    assert bad / max(1, good + bad) <= bad1 / max(1, good1 + bad1) + 0.02


def test_loud_speech_is_correlated_one_frame_at_a_time(desc, cfg, monkeypatch):
    """Speech 20 dB over the noise: no frame is averaged, the firmware's
    directions are the single-frame rule's (the reference with averaging off)."""
    pcm, _truth = _noisy_room(desc, 12, 20.0)
    fw = R.run_firmware(pcm, desc, cfg).arrays()
    monkeypatch.setattr(R, "AVG_SNR_DB", -1e9)
    single = R.run_reference(pcm, desc, cfg).arrays()
    both = fw["valid"] & single["valid"]
    assert both.sum() >= 0.95 * max(fw["valid"].sum(), single["valid"].sum())
    assert np.max(np.abs(fw["lag_conf"][both] - single["lag_conf"][both])) <= 0.03
