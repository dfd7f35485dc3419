"""A fan, a TV or a music speaker at a fixed place, 1 m from the device and
15 dB below the talkers, is never taken for a talker and never takes share:
short scenes of conversations the talker model was not tuned on (seeds 3
and 4), analysed by the firmware on the MicroPython unix port and scored
against the truth."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from talkbalance import scenesim
from talkbalance.analysis import analyze
from talkbalance.fw import talker
from talkbalance.scoring import score

MINUTES = 2.0
FAR_S = 0.5  # truth silence at least this far from anyone's speech


def _away_from(a: float, b: float) -> float:
    """The room azimuth farthest from both talkers (5-degree steps)."""
    return float(max(range(0, 360, 5), key=lambda x: min(talker.angle_diff(x, a), talker.angle_diff(x, b))))


def _analysed(wav, cfg):
    truth = json.loads(scenesim.write(scenesim.render(cfg), wav).read_text())
    return analyze(wav, None, frames=True), truth


# Seed 3's conversation reads 2.87 points high without any source (40 dB of
# diffuse noise); music masks more of the partner's quieter words and it
# reads 3.62, over the bound, though no talker gains time (docs/frontend.md,
# "Noise the room makes").
_MUSIC_SEED_3 = pytest.mark.xfail(strict=True, reason="share 3.62 points off, 2.87 without the music")


@pytest.mark.slow
@pytest.mark.parametrize("noise, seed", [("tv", 3), ("tv", 4), ("fan", 3), ("fan", 4),
                                         pytest.param("music", 3, marks=_MUSIC_SEED_3), ("music", 4)])
def test_a_noise_source_one_metre_away_is_no_talker_and_takes_no_share(tmp_path, noise, seed):
    cfg = scenesim.random_config(seed, MINUTES)
    cfg = scenesim.with_overrides(cfg, noise=noise, snr_db=15.0, noise_distance_m=1.0,
                               noise_az_deg=_away_from(cfg.initiator_az_deg, cfg.partner_az_deg))
    result, truth = _analysed(tmp_path / "noise.wav", cfg)
    record = result.longest()
    assert record is not None
    # the same conversation in the same room without the noise source
    quiet, _ = _analysed(tmp_path / "quiet.wav", replace(cfg, noise="diffuse-pink", snr_db=40.0,
                                                        noise_az_deg=None, noise_distance_m=None))
    without = {t["role"]: t["talk_s"] for t in quiet.longest()["talkers"]}
    noise_az = truth["noise"]["parts"][0]["azimuth_deg"]
    true_az = {t["role"]: t["azimuth_deg"] for t in truth["talkers"]}
    heard = {t["role"]: t for t in record["talkers"]}
    for role in ("initiator", "partner"):
        az = heard[role]["azimuth_deg"]
        assert az is not None and talker.angle_diff(az, true_az[role]) <= 20, (role, az, true_az, noise_az)
        assert talker.angle_diff(az, noise_az) > 45, (role, az, noise_az)
        # the noise's time is nobody's: no talker gains over 3% of their
        # true talk time against the same conversation without it
        gain = heard[role]["talk_s"] - without[role]
        assert gain <= 0.03 * truth["talk_s"][role], (role, heard[role]["talk_s"], without, truth["talk_s"])
    s = score("scene", record, result.frames, truth)
    assert s.initiator_found
    # nor does it make the record untrustworthy: 15 dB under, it is no
    # source near the quieter talker's level (docs/frontend.md)
    hearing = record["hearing"]
    assert hearing["reliable"] is True, hearing
    assert hearing["noise_source_db"] is None or hearing["noise_source_db"] >= 5, hearing
    # where nobody spoke for a while, the noise source alone is heard: it is
    # given to a talker in at most 5% of those frames
    codes, true_codes = result.frames, truth["frames"]
    n = min(len(codes), len(true_codes))
    reach = int(FAR_S * 1000 / truth["frame_ms"])
    near = bytearray(n)
    for i in range(n):
        if true_codes[i] != "0":
            near[max(0, i - reach):i + reach + 1] = b"\x01" * (min(n, i + reach + 1) - max(0, i - reach))
    quiet = [i for i in range(n) if not near[i]]
    assert len(quiet) >= 25
    taken = sum(codes[i] in "123" for i in quiet)
    assert taken <= 0.05 * len(quiet), (taken, len(quiet))
    # last, so that an expected failure of it leaves the rest checked
    assert s.share_error_pts is not None and s.share_error_pts <= 3.0, s.share_error_pts
