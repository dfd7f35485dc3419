# The front end's viper kernels as written for the ESP32's code generator
# (tbfw.dsp) against their plain form (dspref.py): the same outputs, state
# and return values bit for bit, on random and full-scale input.
import array

import dspref
from tbfw import dsp


class Rand:
    """xorshift32: below(k) gives an int in 0..k-1."""

    def __init__(self, seed):
        self.s = seed

    def below(self, k):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return (s >> 4) % k


def _cbits(n):
    return (29 - dsp.bitlen(n - 1)) // 2  # as tbfw.frontend picks B


def _corr_inputs(n, top, kind, rnd):
    """Two correlator inputs of n values in 0..top (offset binary)."""
    if kind == "random":
        return [array.array("H", [rnd.below(top + 1) for _ in range(n)]) for _ in range(2)]
    if kind == "top":
        return [array.array("H", [top] * n) for _ in range(2)]
    if kind == "zero":
        return [array.array("H", [0] * n) for _ in range(2)]
    # alternating rails, b one sample behind a
    return [array.array("H", [top if (i + s) & 1 else 0 for i in range(n)]) for s in (0, 1)]


def test_xcorr_same_as_plain_form():
    rnd = Rand(12345)
    checked = 0
    for n in (320, 160, 41):
        bits = _cbits(n)
        top = 2 << bits
        for lags in (1, 2, 3, 4, 6, 8, 12):
            if n - 2 * lags < 1:
                continue
            for kind in ("random", "top", "zero", "alternating", "random"):
                a, b = _corr_inputs(n, top, kind, rnd)
                nk = 2 * lags + 1
                outs = []
                for fn in (dsp.xcorr, dspref.xcorr):
                    out = array.array("i", [0] * (nk + 2))
                    out[nk] = 1 << bits
                    out[nk + 1] = -7  # past the lags: left alone
                    k = fn(a, b, out, n, lags)
                    outs.append((k, list(out)))
                assert outs[0] == outs[1], (n, lags, kind, outs)
                checked += 1
    assert checked > 80, checked


def _q_frame(n, kind, rnd):
    if kind == "random":
        return array.array("h", [rnd.below(65536) - 32768 for _ in range(n)])
    if kind == "top":
        return array.array("h", [32767] * n)
    if kind == "bottom":
        return array.array("h", [-32768] * n)
    return array.array("h", [32767 if i & 1 else -32768 for i in range(n)])  # rail to rail


def test_prep_same_as_plain_form():
    rnd = Rand(777)
    checked = 0
    for n in (320, 161, 7, 4, 1):
        for kind in ("random", "top", "bottom", "alternating", "random"):
            q = _q_frame(n, kind, rnd)
            for prev in (0, 32767, -32768, rnd.below(65536) - 32768):
                for shift, bits in ((0, 10), (3, 10), (7, 10), (6, 14), (1, 12)):
                    outs = []
                    for fn in (dsp.prep, dspref.prep):
                        st = array.array("i", [0] * dsp.STATE_WORDS)
                        st[dsp.S_N] = n
                        st[dsp.S_PREVQ] = prev
                        dst = array.array("H", [0] * (n + 1))
                        dst[n] = 4321  # past the frame: left alone
                        e = fn(q, dst, st, shift, bits)
                        outs.append((e, list(dst), list(st)))
                    assert outs[0] == outs[1], (n, kind, prev, shift, bits)
                    checked += 1
    assert checked == 500, checked
