"""The honest 32-bit check: the viper kernels run in CPython with every
integer result wrapped to signed 32 bits and unsigned pointer loads (as on
the ESP32), on worst-case input. They must give the same frames as the
firmware on the 64-bit unix port, agree with the float reference, and no
accumulator may overflow."""

from __future__ import annotations

import numpy as np
import pytest
from talkbalance import reference as R
from talkbalance import signals as S
from talkbalance import viper32
from talkbalance.fw import config

RATE = 16000
# kernels whose integer results are bounded accumulators (pcm16_to_words
# builds 32-bit bit patterns on purpose and is left out)
ACCUMULATING = ("ingest_bus", "_ingest_pair", "ingest32_exact", "prep", "_emph", "xcorr", "_lags7", "_lags6",
                "db20_q8", "bitlen", "isqrt", "atan2_q8", "peak_q8")


@pytest.fixture(scope="module")
def fe32():
    return viper32.frontend_module()


def _run32(fe_mod, pcm, desc, cfg):
    fe = fe_mod.FrontEnd(desc, cfg)
    n = fe.frame_samples
    inter = np.ascontiguousarray(pcm.T).astype("<i2")
    out = R.Frames()
    for f in range(pcm.shape[1] // n):
        fe.ingest_pcm16(inter[f * n:(f + 1) * n].tobytes())
        fe.process()
        out.speech.append(fe.speech)
        out.frame_db.append(fe.frame_db_q8 / 256)
        out.noise_db.append(fe.noise_db_q8 / 256)
        out.levels_db.append([v / 256 for v in fe.level_db_q8])
        out.lags.append([v / 256 for v in fe.lag_q8])
        out.lag_conf.append([v / 256 for v in fe.lag_conf_q8])
        out.valid.append(fe.direction_valid)
        out.azimuth.append(fe.azimuth_deg)
        out.dead_mask.append(fe.dead_mask)
        out.clip_count.append(fe.clip_count)
    return out.arrays()


def _worst_cases(desc):
    """name -> (channels, samples) int16: quiet lead-in (warm-up, floor),
    then the worst case, so the correlator runs on it too."""
    rng = np.random.default_rng(1)
    lead = int(0.5 * RATE)
    body = int(0.5 * RATE)
    quiet = S.to_int16(S.white(4 * lead, rng).reshape(4, lead), 0.001)
    cases = {}
    sq = S.square(body + 8, 40)
    cases["square"] = np.stack([sq[8:], sq[5:-3], sq[8:], sq[3:-5]])  # full scale, lags 3 and 5
    sq2 = S.square(body, 2)  # +32767, -32768 alternating every sample
    cases["square_nyquist"] = np.stack([sq2, sq2, sq2, -1 - sq2])
    cases["noise_full_scale"] = rng.integers(-32768, 32768, size=(4, body)).astype(np.int16)
    src = S.speech_like(body, RATE, rng)
    stuck = S.to_int16(S.render_far_field(src, desc, 33.0), 0.4)
    stuck[3] = -32768
    cases["stuck_at_minus_full_scale"] = stuck
    return {k: np.concatenate([quiet, v], axis=1) for k, v in cases.items()}


@pytest.fixture(scope="module")
def cases(desc):
    return _worst_cases(desc)


@pytest.mark.parametrize("name", ["square", "square_nyquist", "noise_full_scale", "stuck_at_minus_full_scale"])
def test_worst_case_input_32_bit_equals_64_bit_and_reference(desc, fe32, cases, name):
    cfg = config.merge_user({})
    pcm = cases[name]
    viper32.overflows.clear()
    got32 = _run32(fe32, pcm, desc, cfg)
    over = {fn: c for fn, c in viper32.overflows.items() if fn in ACCUMULATING}
    assert over == {}, over
    fw = R.run_firmware(pcm, desc, cfg).arrays()
    for key in ("speech", "frame_db", "noise_db", "levels_db", "lags", "lag_conf", "valid", "azimuth",
                "dead_mask", "clip_count"):
        assert np.array_equal(got32[key], fw[key]), key
    ref = R.run_reference(pcm, desc, cfg).arrays()
    # levels agree where there is signal (below -80 dBFS the Q15 grid itself,
    # e.g. a decaying DC tail flooring to -1, dominates)
    audible = ref["levels_db"] > -80
    assert np.max(np.abs(got32["levels_db"] - ref["levels_db"])[audible]) <= 0.1
    assert np.all(got32["levels_db"][~audible] < -80)
    assert np.array_equal(got32["speech"], ref["speech"])
    # the float DC tracker decides a sample at the very edge of saturation
    # differently now and then
    assert np.all(np.abs(got32["clip_count"] - ref["clip_count"]) <= 2 + ref["clip_count"] // 100)
    both = got32["valid"] & ref["valid"]
    assert np.array_equal(got32["valid"], ref["valid"])
    if both.any():
        assert np.max(np.abs(got32["lags"][both] - ref["lags"][both])) <= 0.05
    if name == "square":
        assert both.sum() >= 15
        assert np.allclose(np.median(got32["lags"][both], axis=0), [3.0, 5.0], atol=0.1)
    if name == "stuck_at_minus_full_scale":
        assert got32["clip_count"][-1] >= pcm.shape[1] // 2


def test_i2s_rail_words_32_bit(desc):
    """24-bit extremes straight from I2S words (0x7FFFFF00, 0x80000000, and a
    word with junk in the low byte) through ingest, against the reference."""
    dsp = viper32.load("dsp")
    fe_mod = viper32.frontend_module(dsp)
    cfg = config.merge_user({"gain_shift": 8})
    fe = fe_mod.FrontEnd(desc, cfg)
    ref = R.Reference(desc, cfg)
    n = fe.frame_samples
    rng = np.random.default_rng(4)
    viper32.overflows.clear()
    for _ in range(30):
        x = np.where(rng.random((4, n)) < 0.5, 0x7FFFFF, -0x800000).astype(np.int64)
        x[:, : n // 2] = rng.integers(-(1 << 23), 1 << 23, size=(4, n // 2))
        for bus, (left, right) in enumerate(fe._buses):
            raw = bytearray(S.i2s_words(x[left], x[right]))
            raw[0::8] = b"\xa5" * (len(raw) // 8)  # bits 7..0 are not part of the sample
            fe.ingest_i2s(bus, bytes(raw))
        fe.process()
        rq = ref.ingest24(x)
        ref.process(rq)
        q = np.stack([np.frombuffer(fe._q[ch], dtype=np.int16) for ch in range(4)])
        assert np.max(np.abs(q - rq)) <= 2  # integer DC tracker and flooring: a couple of LSB
        assert fe.clip_count == ref.clips
    over = {fn: c for fn, c in viper32.overflows.items() if fn in ACCUMULATING}
    assert over == {}, over
    assert np.max(np.abs(np.array(fe.level_db_q8) / 256 - np.array(ref.out.levels_db[-1]))) <= 0.1


def test_correlator_bounds_at_the_largest_frame():
    """48 kHz, 32 ms: n = 1536, the correlator's B = 9. Every input at +2^B or
    -2^B: r must be exact (numpy int64) with no overflow in 32 bits."""
    dsp = viper32.load("dsp")
    n = 1536
    bits = (29 - dsp.bitlen(n - 1)) // 2
    assert bits == 9
    lags = 8
    from array import array

    rng = np.random.default_rng(2)
    for pattern in ("all_plus", "all_minus", "mixed"):
        if pattern == "all_plus":
            va = vb = np.full(n, 1 << bits)
        elif pattern == "all_minus":
            va = vb = np.full(n, -(1 << bits))
        else:
            va = np.where(rng.random(n) < 0.5, 1 << bits, -(1 << bits))
            vb = -va
        a = array("H", (va + (1 << bits)).tolist())
        b = array("H", (vb + (1 << bits)).tolist())
        out = array("i", [0] * (2 * lags + 3))
        out[2 * lags + 1] = 1 << bits
        prev = array("i", [0] * (2 * lags + 1))
        viper32.overflows.clear()
        k = dsp.xcorr(a, b, out, n, lags, prev, 0)
        m = n - 2 * lags
        want = [int(np.dot(va[lags:lags + m].astype(np.int64), vb[j:j + m].astype(np.int64)))
                for j in range(2 * lags + 1)]
        assert list(out[: 2 * lags + 1]) == want
        assert list(prev) == want
        assert k == int(np.argmax(want))
        assert viper32.overflows["xcorr"] == 0
        assert max(abs(v) for v in want) < 1 << 30


def test_prep_energy_bound_and_sign_extension():
    dsp = viper32.load("dsp")
    from array import array

    n = 1536
    bits = 9
    q = array("h", [32767 if i % 2 else -32768 for i in range(n)])
    st = array("i", [0] * dsp.STATE_WORDS)
    st[dsp.S_N] = n
    st[dsp.S_PREVQ] = -32768
    dst = array("H", [0] * n)
    # |q - 29/32 prev| < 2^16 = 2^(bits + shift) with shift 7
    viper32.overflows.clear()
    e = dsp.prep(q, dst, st, 7, bits)
    v = np.array(dst, dtype=np.int64) - (1 << bits)
    assert np.all(np.abs(v) <= 1 << bits)
    assert e == int(np.sum(v * v)) and e < 1 << 30
    assert viper32.overflows["prep"] == 0
    assert v[0] == (-32768 - ((-32768 * 29) >> 5)) >> 7
    assert v[1] == (32767 - ((-32768 * 29) >> 5)) >> 7


def test_two_frame_average_at_full_scale_32_bit():
    """xcorr averaging a full-scale frame (every input at +-2^B, the largest
    frame: n = 1536, B = 9) with a previous frame at the bound of its output
    (|r| = 2^29 - 1, either sign), at every block shift difference the front
    end can make (|ds| <= 8: shifts are 0..8): exact against Python
    integers, within -2^29..2^29 - 1 (the 30-bit words peak_q8 reads), the
    previous frame's words replaced by this frame's r, no overflow."""
    dsp = viper32.load("dsp")
    from array import array

    n, bits, lags = 1536, 9, 8
    nk = 2 * lags + 1
    top = (1 << 29) - 1
    rng = np.random.default_rng(5)
    inputs = {"all_plus": (np.full(n, 1 << bits), np.full(n, 1 << bits)),
              "opposite": (np.full(n, 1 << bits), np.full(n, -(1 << bits))),
              "random": (np.where(rng.random(n) < 0.5, 1 << bits, -(1 << bits)),
                         np.where(rng.random(n) < 0.5, 1 << bits, -(1 << bits)))}
    before = {"plus": [top] * nk, "minus": [-top] * nk, "alternating": [top if k % 2 else -top for k in range(nk)]}
    for name, (va, vb) in inputs.items():
        m = n - 2 * lags
        r = [int(np.dot(va[lags:lags + m].astype(np.int64), vb[j:j + m].astype(np.int64))) for j in range(nk)]
        for pname, p in before.items():
            for ds in range(-8, 9):
                sa = 2 * ds if ds > 0 else 0
                sb = sa - 2 * ds
                out = array("i", [0] * (nk + 2))
                out[nk] = 1 << bits
                prev = array("i", p)
                viper32.overflows.clear()
                k = dsp.xcorr(array("H", (va + (1 << bits)).tolist()), array("H", (vb + (1 << bits)).tolist()),
                              out, n, lags, prev, (sa + 1) | (sb + 1) << 5)
                assert viper32.overflows["xcorr"] == 0, (name, pname, ds)
                want = [(x >> (sa + 1)) + (y >> (sb + 1)) for x, y in zip(r, p)]
                assert list(out[:nk]) == want, (name, pname, ds)
                assert -(1 << 29) <= min(want) and max(want) < 1 << 29
                assert list(prev) == r
                assert k == int(np.argmax(want))
