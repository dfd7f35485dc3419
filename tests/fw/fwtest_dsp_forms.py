# The front end's viper kernels as written for the ESP32's code generator
# (tbfw.dsp) against their plain form (dspref.py): the same outputs, state
# and return values bit for bit, on random and full-scale input.
import array

import dspref
from fwlib import Xorshift32
from tbfw import dsp


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
    rnd = Xorshift32(12345)
    checked = 0
    for n in (320, 160, 41):
        bits = _cbits(n)
        top = 2 << bits
        for lags in (1, 2, 3, 4, 5, 6, 8, 10, 12):
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
                    if fn is dsp.xcorr:
                        prev = array.array("i", [5] * nk)
                        k = fn(a, b, out, n, lags, prev, 0)
                        assert list(prev) == list(out[:nk])  # this frame's r kept for the next
                    else:
                        k = fn(a, b, out, n, lags)
                    outs.append((k, list(out)))
                assert outs[0] == outs[1], (n, lags, kind, outs)
                r = outs[1][1][:nk]
                # averaged with a previous frame (at the bound of xcorr's
                # output, |r| < 2^29) at each shift difference
                top_r = (1 << 29) - 1
                before = [(top_r, -top_r, rnd.below(1 << 28) - (1 << 27))[i % 3] for i in range(nk)]
                for sa, sb in ((1, 1), (3, 1), (1, 5), (17, 1), (1, 17)):
                    out = array.array("i", [0] * (nk + 2))
                    out[nk] = 1 << bits
                    out[nk + 1] = -7
                    prev = array.array("i", before)
                    k = dsp.xcorr(a, b, out, n, lags, prev, sa | sb << 5)
                    want = [(x >> sa) + (y >> sb) for x, y in zip(r, before)]
                    assert list(out) == want + [1 << bits, -7], (n, lags, kind, sa, sb)
                    assert list(prev) == r
                    assert k == want.index(max(want))
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
    rnd = Xorshift32(777)
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


def _words(n, kind, rnd):
    """One I2S bus frame: 2n little-endian int32 words, 24-bit samples in bits 31..8."""
    w = array.array("i", [0] * (2 * n))
    for i in range(2 * n):
        if kind == "random":  # every bit, the low byte too
            v = ((rnd.below(65536) << 16) | rnd.below(65536)) - (1 << 31)
        elif kind == "quiet":
            v = (rnd.below(8001) - 4000) << 8
        elif kind == "loud":  # large, rarely at the rails
            v = (rnd.below(1 << 24) - (1 << 23)) << 8
        elif kind == "right_loud":  # left quiet, right half scale
            v = ((rnd.below(8001) - 4000) << 8) if (i & 1) == 0 else ((rnd.below(1 << 23) - (1 << 22)) << 8)
        elif kind == "rails":
            v = (0x7FFFFF << 8) if i & 2 else -(1 << 31)
        else:  # a square wave near full scale, one channel a step behind
            v = (3 << 28) if (i // 2 + (i & 1)) & 8 else -(3 << 28)
        w[i] = v
    return w


def test_ingest_bus_same_as_plain_form():
    rnd = Xorshift32(4242)
    checked = 0
    redo_seen = set()
    for n in (320, 33, 1):
        for kind in ("random", "quiet", "loud", "right_loud", "rails", "square", "quiet"):
            src = _words(n, kind, rnd)
            for k, shift in ((3, 8), (4, 6), (5, 8), (5, 0), (3, 2)):
                dc = (rnd.below(1 << 24) - (1 << 23)) << k
                outs = []
                for fn in (dsp.ingest_bus, dspref.ingest_bus):
                    qa = array.array("h", [7] * n)
                    qb = array.array("h", [-7] * n)
                    sts = []
                    for side in (0, 1):
                        st = array.array("i", [0] * dsp.STATE_WORDS)
                        st[dsp.S_N] = n
                        st[dsp.S_DCK] = k
                        st[dsp.S_SHIFT] = shift
                        st[dsp.S_DC] = dc + side
                        st[dsp.S_LASTQ] = 1000 + side
                        st[dsp.S_CLIPS] = 5
                        sts.append(st)
                    redo = fn(src, qa, qb, sts[0], sts[1])
                    outs.append((redo, list(qa), list(qb), list(sts[0]), list(sts[1])))
                assert outs[0] == outs[1], (n, kind, k, shift)
                redo_seen.add(outs[0][0])
                checked += 1
    assert checked == 105 and redo_seen == {0, 1, 2, 3}, (checked, redo_seen)
