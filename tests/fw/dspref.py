# The front end's viper kernels in their plain form (one sample, or one
# multiply-accumulate, per step; every local a name), as they were before
# they were rewritten for the ESP32's code generator. tbfw.dsp must give the
# same results bit for bit: tests/fw/fwtest_dsp_forms.py.
import micropython

_S_DC = const(0)
_S_LASTQ = const(1)
_S_PREVQ = const(2)
_S_SUMABS = const(3)
_S_ORQ = const(4)
_S_CLIPS = const(5)
_S_SHIFT = const(6)
_S_N = const(7)
_S_DCK = const(10)
_RAIL = const(0x7FFF00)
_Q_MAX = const(32767)
_EMPH_Q5 = const(29)
_M30 = const(0x3FFFFFFF)
_B30 = const(0x20000000)


@micropython.viper
def ingest_bus(src, qa, qb, sa, sb) -> int:
    """Fast path: both channels of one I2S frame, no saturation or clip count.

    src     little-endian int32 words (machine.I2S STEREO, bits=32),
            [L0, R0, L1, R1, ...]: left -> qa/sa, right -> qb/sb
    qa, qb  array('h') of N: q (Q15, DC removed, gain applied)
    sa, sb  channel states (header). DC removal: y = x - (dc >> k), dc += y,
            a one-pole high-pass with corner fs / (2 pi 2^k), k = st[_S_DCK].
    Bounds: |x| <= 2^23; |dc| <= 2^(23 + k) + 2^k < 2^29 (k <= 5);
    |y| < 2^24; sumabs < N 2^16 <= 2^27; OR of |q|, of |x| < 2^24.
    Returns a bit mask (1 left, 2 right) of the channels that may hold a
    sample at the rails or a q beyond int16: their state is left untouched
    and the caller runs ingest32_exact on them. The others' state is stored.
    Two channels per loop: about 6.4 us per 320-sample bus frame here.
    """
    p = ptr32(src)
    da = ptr16(qa)
    db = ptr16(qb)
    ta = ptr32(sa)
    tb = ptr32(sb)
    n = int(ta[_S_N])
    k = int(ta[_S_DCK])
    shift = int(ta[_S_SHIFT])
    acca = ((int(ta[_S_DC]) & _M30) ^ _B30) - _B30
    accb = ((int(tb[_S_DC]) & _M30) ^ _B30) - _B30
    suma = 0
    sumb = 0
    ora = 0  # OR of |q|
    orb = 0
    orx = 0  # OR of |x| over both channels
    j = 0
    for i in range(n):
        x = (((int(p[j]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000
        orx |= x ^ (x >> 31)  # ones' complement |x|: the rails show as 0x7FFFxx
        y = x - (acca >> k)
        acca += y
        q = y >> shift
        da[i] = q
        m = q >> 31
        q = (q ^ m) - m
        suma += q
        ora |= q
        x = (((int(p[j + 1]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000
        j += 2
        orx |= x ^ (x >> 31)
        y = x - (accb >> k)
        accb += y
        q = y >> shift
        db[i] = q
        m = q >> 31
        q = (q ^ m) - m
        sumb += q
        orb |= q
    if orx >= _RAIL:  # some sample may be at the rails: count exactly
        return 3
    redo = 0
    if ora > _Q_MAX:
        redo = 1
    else:
        ta[_S_DC] = acca
        ta[_S_PREVQ] = ta[_S_LASTQ]
        ta[_S_LASTQ] = (int(da[n - 1]) ^ 0x8000) - 0x8000
        ta[_S_SUMABS] = suma
        ta[_S_ORQ] = ora
        ta[_S_CLIPS] = 0
    if orb > _Q_MAX:
        redo |= 2
    else:
        tb[_S_DC] = accb
        tb[_S_PREVQ] = tb[_S_LASTQ]
        tb[_S_LASTQ] = (int(db[n - 1]) ^ 0x8000) - 0x8000
        tb[_S_SUMABS] = sumb
        tb[_S_ORQ] = orb
        tb[_S_CLIPS] = 0
    return redo


@micropython.viper
def prep(src, dst, st, shift: int, bits: int) -> int:
    """Correlator input of one channel: pre-emphasis, block scaling, offset.

    src  array('h') of N q; dst array('H') of N:
         c[i] = ((q[i] - (29 q[i-1] >> 5)) >> shift) + 2^bits,
         q[-1] = st[_S_PREVQ]. The caller picks shift so that
         |q[i] - 29/32 q[i-1]| < 2^(bits + shift), i.e. |v| <= 2^bits.
    Bounds: |w| < 2^16; v*v <= 2^(2 bits); energy < N 2^(2 bits) <= 2^29.
    Returns the energy sum v^2 over the frame.
    """
    s = ptr16(src)
    d = ptr16(dst)
    t = ptr32(st)
    n = int(t[_S_N])
    prev = ((int(t[_S_PREVQ]) & _M30) ^ _B30) - _B30
    off = 1 << bits
    e = 0
    for i in range(n):
        q = (int(s[i]) ^ 0x8000) - 0x8000
        v = (q - ((prev * _EMPH_Q5) >> 5)) >> shift
        prev = q
        e += v * v
        d[i] = v + off
    return e


@micropython.viper
def xcorr(a, b, out, n: int, lags: int) -> int:
    """Cross-correlation of two offset-binary correlator inputs over lags
    -lags..+lags, with the same m = n - 2 lags terms at every lag.

    a, b  array('H') of n, c = v + O, O = 2^B = out[2 lags + 1] (set by caller)
    out   array('i') of 2 lags + 3; out[k] = r(k - lags) for k in 0..2 lags,
          r(t) = sum over i in [lags, n - lags) of va[i] vb[i + t].
    Offset removal: sum (ca - O)(cb - O) = sum ca cb - O (Sa + Sb(k)) + m O^2.
    Bounds: ca cb <= 2^(2B+2); acc <= m 2^(2B+2) < 2^31 (frontend picks B);
    O (Sa + Sb) < 2^31 likewise; |r| <= m 2^(2B) < 2^29. The offset terms
    cancel exactly in wrapping 32-bit arithmetic too.
    Four lags share each load of a (and a sliding window of b); measured
    about 3 ns per multiply-accumulate on the unix port.
    Returns the index k of the largest r.
    """
    o = ptr32(out)
    nk = 2 * lags + 1
    off = int(o[nk])
    m = n - 2 * lags
    abase = int(ptr16(a)) + 2 * lags
    pa = ptr16(abase)  # pa[i] = a[i + lags]
    pb0 = ptr16(b)
    bbase = int(pb0)
    sa = 0
    sb = 0
    for i in range(0, m):
        sa += int(pa[i])
        sb += int(pb0[i])
    k = 0
    while k + 4 <= nk:
        pb = ptr16(bbase + 2 * k)  # pb[i] = b[(i + lags) + (k - lags)]
        acc0 = 0
        acc1 = 0
        acc2 = 0
        acc3 = 0
        b0 = int(pb[0])
        b1 = int(pb[1])
        b2 = int(pb[2])
        for i in range(0, m):
            x = int(pa[i])
            b3 = int(pb[i + 3])  # max index k + m + 2 <= n - 1
            acc0 += x * b0
            acc1 += x * b1
            acc2 += x * b2
            acc3 += x * b3
            b0 = b1
            b1 = b2
            b2 = b3
        o[k] = acc0
        o[k + 1] = acc1
        o[k + 2] = acc2
        o[k + 3] = acc3
        k += 4
    while k < nk:
        pb = ptr16(bbase + 2 * k)
        acc0 = 0
        for i in range(0, m):
            acc0 += int(pa[i]) * int(pb[i])
        o[k] = acc0
        k += 1
    # remove the offsets, sliding the window sum of b one lag at a time
    best = 0
    bestk = 0
    mo2 = m * off * off
    for k in range(0, nk):
        r = int(o[k]) - off * (sa + sb) + mo2
        o[k] = r
        if k == 0 or r > best:
            best = r
            bestk = k
        if k + 1 < nk:
            sb += int(pb0[k + m]) - int(pb0[k])
    return bestk
