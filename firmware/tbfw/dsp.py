# Viper kernels of the audio front end: the per-sample work, over buffers the
# caller allocates once (tbfw.frontend holds the per-frame logic).
#
# Word size: viper ints are 32 bits on the ESP32 (arithmetic wraps) and 64
# bits on the x86-64 unix port. Every accumulator below has its worst-case
# bound for full-scale input written beside it, each under 2^31, and every
# value handed back to Python stays under 2^30 so it remains a small int on
# the ESP32 (no long-int allocation). ptr16/ptr32 loads are zero-extended on
# both word sizes; they are sign-extended with mask/xor/subtract, which is
# correct on either (never with a shift pair).
#
# Q formats:
#   x  raw 24-bit microphone sample, -2^23..2^23-1 (INMP441: bits 31..8)
#   q  Q15 sample after DC removal and gain (int16; saturated on the slow path)
#   v  correlator input: pre-emphasised q, (q[i] - 29/32 q[i-1]) >> shift,
#      |v| <= 2^B; stored offset-binary as c = v + 2^B (uint16, 0..2^(B+1))
#
# Channel state: array('i') of STATE_WORDS per channel, indices S_*.
#   S_DC     DC tracker: x * 2^dc_k (|.| <= 2^(23+5) + 2^5 < 2^29, dc_k <= 5)
#   S_LASTQ  last q of the latest frame; S_PREVQ: last q of the frame before
#   S_SUMABS per frame: sum |q| (< 1536 * 2^15 < 2^26)
#   S_ORQ    per frame: OR of |q| (< 2^16; bit length = that of max |q|)
#   S_CLIPS  per frame: samples at the input rails or saturated after gain
#   S_SHIFT  right shift from the 24-bit DC-free sample to Q15 (8 - gain_shift)
#   S_N      samples per frame
#   S_STRIDE 32-bit words from one sample of this channel to the next
#   S_OFFSET word index of this channel's first sample in the source buffer
#   S_DCK    k of the DC tracker (corner fs / (2 pi 2^k)), 3..5
#
# Cost is measured by `talkbalance bench --only frontend` (docs/frontend.md).

import micropython

S_DC = const(0)
S_LASTQ = const(1)
S_PREVQ = const(2)
S_SUMABS = const(3)
S_ORQ = const(4)
S_CLIPS = const(5)
S_SHIFT = const(6)
S_N = const(7)
S_STRIDE = const(8)
S_OFFSET = const(9)
S_DCK = const(10)
STATE_WORDS = const(11)

RAIL = const(0x7FFF00)  # |x| at or above this is at the INMP441's rails (int16 rails * 2^8)
_Q_MAX = const(32767)
_Q_MIN = const(-32768)
_EMPH_Q5 = const(29)  # pre-emphasis coefficient, 29/32 = 0.906
_M30 = const(0x3FFFFFFF)  # state words hold values of at most 30 bits: sign-extend from there
_B30 = const(0x20000000)


@micropython.viper
def ingest_bus(src, qa, qb, sa, sb) -> int:
    """Fast path: both channels of one I2S frame, no saturation or clip count.

    src     little-endian int32 words (machine.I2S STEREO, bits=32),
            [L0, R0, L1, R1, ...]: left -> qa/sa, right -> qb/sb
    qa, qb  array('h') of N: q (Q15, DC removed, gain applied)
    sa, sb  channel states (header). DC removal: y = x - (dc >> k), dc += y,
            a one-pole high-pass with corner fs / (2 pi 2^k), k = st[S_DCK].
    Bounds: |x| <= 2^23; |dc| <= 2^(23 + k) + 2^k < 2^29 (k <= 5);
    |y| < 2^24; sumabs < N 2^16 <= 2^27; OR of |q|, of |x| < 2^24.
    Returns a bit mask (1 left, 2 right) of the channels that may hold a
    sample at the rails or a q beyond int16: their state is left untouched
    and the caller runs ingest32_exact on them. The others' state is stored.
    The work is _ingest_pair's (its first two parameters are registers).
    """
    return int(_ingest_pair(0, src, qa, qb, sa, sb))


@micropython.viper
def _ingest_pair(y: int, p: ptr32, qa, qb, sa, sb) -> int:
    """ingest_bus's loop, two channels a step.

    y, p  the two registers viper gives locals on the ESP32 (the first two
          parameters): y holds the sample being worked (pass 0), p walks src
    Same maths and bounds as ingest_bus; |q| taken with a branch. Two
    sample pairs a step: about 77 Xtensa instructions a sample (bench
    --only chip).
    """
    da = ptr16(qa)
    db = ptr16(qb)
    ta = ptr32(sa)
    tb = ptr32(sb)
    n = int(ta[S_N])
    k = int(ta[S_DCK])
    shift = int(ta[S_SHIFT])
    acca = ((int(ta[S_DC]) & _M30) ^ _B30) - _B30
    accb = ((int(tb[S_DC]) & _M30) ^ _B30) - _B30
    suma = 0
    sumb = 0
    ora = 0  # OR of |q|
    orb = 0
    orx = 0  # OR of |x| over both channels (ones' complement: the rails show as 0x7FFFxx)
    end = int(p) + 16 * (n >> 1)
    while end > int(p):  # two sample pairs a step
        y = (((int(p[0]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000  # x
        orx = (y ^ (y >> 31)) | orx
        y = y - (acca >> k)
        acca = y + acca
        y = y >> shift  # q
        da[0] = y
        if y < 0:
            y = 0 - y
        suma = y + suma
        ora = y | ora
        y = (((int(p[1]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000
        orx = (y ^ (y >> 31)) | orx
        y = y - (accb >> k)
        accb = y + accb
        y = y >> shift
        db[0] = y
        if y < 0:
            y = 0 - y
        sumb = y + sumb
        orb = y | orb
        y = (((int(p[2]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000  # x
        orx = (y ^ (y >> 31)) | orx
        y = y - (acca >> k)
        acca = y + acca
        y = y >> shift  # q
        da[1] = y
        if y < 0:
            y = 0 - y
        suma = y + suma
        ora = y | ora
        y = (((int(p[3]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000
        orx = (y ^ (y >> 31)) | orx
        y = y - (accb >> k)
        accb = y + accb
        y = y >> shift
        db[1] = y
        if y < 0:
            y = 0 - y
        sumb = y + sumb
        orb = y | orb
        p = ptr32(int(p) + 16)
        da = ptr16(int(da) + 4)
        db = ptr16(int(db) + 4)
    if n & 1:  # the last pair of an odd frame
        y = (((int(p[0]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000  # x
        orx = (y ^ (y >> 31)) | orx
        y = y - (acca >> k)
        acca = y + acca
        y = y >> shift  # q
        da[0] = y
        if y < 0:
            y = 0 - y
        suma = y + suma
        ora = y | ora
        y = (((int(p[1]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000
        orx = (y ^ (y >> 31)) | orx
        y = y - (accb >> k)
        accb = y + accb
        y = y >> shift
        db[0] = y
        if y < 0:
            y = 0 - y
        sumb = y + sumb
        orb = y | orb
    if orx >= RAIL:  # some sample may be at the rails: count exactly
        return 3
    redo = 0
    if ora > _Q_MAX:
        redo = 1
    else:
        ta[S_DC] = acca
        ta[S_PREVQ] = ta[S_LASTQ]
        ta[S_LASTQ] = (int(ptr16(qa)[n - 1]) ^ 0x8000) - 0x8000
        ta[S_SUMABS] = suma
        ta[S_ORQ] = ora
        ta[S_CLIPS] = 0
    if orb > _Q_MAX:
        redo |= 2
    else:
        tb[S_DC] = accb
        tb[S_PREVQ] = tb[S_LASTQ]
        tb[S_LASTQ] = (int(ptr16(qb)[n - 1]) ^ 0x8000) - 0x8000
        tb[S_SUMABS] = sumb
        tb[S_ORQ] = orb
        tb[S_CLIPS] = 0
    return redo


@micropython.viper
def ingest32_exact(src, dst, st) -> int:
    """Slow path of ingest_bus for one channel of a frame near full scale
    (sample i is word st[S_OFFSET] + i * st[S_STRIDE]): same maths, with q
    saturated to int16 and clipped samples counted (at the input rails, or
    saturated after DC removal and gain), each sample at most once.
    Same bounds; clips <= N.
    Stores the state; returns the clip count."""
    p = ptr32(src)
    d = ptr16(dst)
    s = ptr32(st)
    n = int(s[S_N])
    stride = int(s[S_STRIDE])
    j = int(s[S_OFFSET])
    shift = int(s[S_SHIFT])
    dc_k = int(s[S_DCK])
    acc = ((int(s[S_DC]) & _M30) ^ _B30) - _B30
    sumabs = 0
    orq = 0
    clips = 0
    last = 0
    for i in range(n):
        x = (((int(p[j]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000
        j += stride
        c = 0
        if (x ^ (x >> 31)) >= RAIL:
            c = 1
        y = x - (acc >> dc_k)
        acc += y
        q = y >> shift
        if q > _Q_MAX:
            q = _Q_MAX
            c = 1
        elif q < _Q_MIN:
            q = _Q_MIN
            c = 1
        clips += c
        d[i] = q
        last = q
        m = q >> 31
        q = (q ^ m) - m
        sumabs += q
        orq |= q
    s[S_DC] = acc
    s[S_PREVQ] = s[S_LASTQ]
    s[S_LASTQ] = last
    s[S_SUMABS] = sumabs
    s[S_ORQ] = orq
    s[S_CLIPS] = clips
    return clips


@micropython.viper
def pcm16_to_words(src, words, n: int, channels: int, lr: int) -> int:
    """Interleaved int16 PCM (WAV layout) to one I2S bus's words.

    words[2i] = pcm[i, left] << 16, words[2i + 1] = pcm[i, right] << 16
    (the int16 sample in bits 31..16, as an I2S microphone would put it),
    lr = left | right << 8. A plain bit pattern, moved byte by byte
    (little-endian, as on the ESP32): no value wider than 8 bits, so no
    32-bit intermediate to wrap on any port.
    """
    p = ptr8(src)
    w = ptr8(words)
    left = (lr & 0xFF) << 1
    right = (lr >> 8) << 1
    stride = channels << 1
    j = 0
    k = 0
    for i in range(n):
        w[k] = 0
        w[k + 1] = 0
        w[k + 2] = p[j + left]
        w[k + 3] = p[j + left + 1]
        w[k + 4] = 0
        w[k + 5] = 0
        w[k + 6] = p[j + right]
        w[k + 7] = p[j + right + 1]
        j += stride
        k += 8
    return n


@micropython.viper
def _emph(v: int, ps: ptr16, dst: ptr16, shift: int, off: int, count: int) -> int:
    """prep's loop over `count` samples: dst[j] = v_j + off with
    v_j = (q[j] - (29 q[j - 1] >> 5)) >> shift, q[j - 1] = ps[j], q[j] = ps[j + 1].

    v, ps   the two registers viper gives locals on the ESP32 (the first two
            parameters): v holds the sample's v (pass 0), ps walks the input
    q is taken as u = q + 2^15 (its int16 bits with the sign bit flipped,
    0..2^16 - 1), so no sign extension is needed:
    q - (29 qp >> 5) = u - (29 up >> 5) - 3072 exactly (29 * 2^15 / 32 = 29696,
    less the 2^15 of u: 3072 more to take off).
    Bounds: 29 up < 2^21; as prep's. Returns the energy sum v^2.
    Cost: about 44 Xtensa instructions a sample, four samples a step.
    """
    e = 0
    end = int(ps) + 2 * (count & ~3)
    while end > int(ps):
        v = ((int(ps[1]) ^ 0x8000) - (((int(ps[0]) ^ 0x8000) * _EMPH_Q5) >> 5) - 3072) >> shift
        e = v * v + e
        dst[0] = v + off
        v = ((int(ps[2]) ^ 0x8000) - (((int(ps[1]) ^ 0x8000) * _EMPH_Q5) >> 5) - 3072) >> shift
        e = v * v + e
        dst[1] = v + off
        v = ((int(ps[3]) ^ 0x8000) - (((int(ps[2]) ^ 0x8000) * _EMPH_Q5) >> 5) - 3072) >> shift
        e = v * v + e
        dst[2] = v + off
        v = ((int(ps[4]) ^ 0x8000) - (((int(ps[3]) ^ 0x8000) * _EMPH_Q5) >> 5) - 3072) >> shift
        e = v * v + e
        dst[3] = v + off
        ps = ptr16(int(ps) + 8)
        dst = ptr16(int(dst) + 8)
    end = int(ps) + 2 * (count & 3)
    while end > int(ps):
        v = ((int(ps[1]) ^ 0x8000) - (((int(ps[0]) ^ 0x8000) * _EMPH_Q5) >> 5) - 3072) >> shift
        e = v * v + e
        dst[0] = v + off
        ps = ptr16(int(ps) + 2)
        dst = ptr16(int(dst) + 2)
    return e


@micropython.viper
def prep(src, dst, st, shift: int, bits: int) -> int:
    """Correlator input of one channel: pre-emphasis, block scaling, offset.

    src  array('h') of N q; dst array('H') of N:
         c[i] = ((q[i] - (29 q[i-1] >> 5)) >> shift) + 2^bits,
         q[-1] = st[S_PREVQ]. The caller picks shift so that
         |q[i] - 29/32 q[i-1]| < 2^(bits + shift), i.e. |v| <= 2^bits.
    Bounds: |w| < 2^16; v*v <= 2^(2 bits); energy < N 2^(2 bits) <= 2^29.
    The first sample here, the rest in _emph.
    Returns the energy sum v^2 over the frame.
    """
    s = ptr16(src)
    d = ptr16(dst)
    t = ptr32(st)
    n = int(t[S_N])
    prev = ((int(t[S_PREVQ]) & _M30) ^ _B30) - _B30
    off = 1 << bits
    q = (int(s[0]) ^ 0x8000) - 0x8000
    v = (q - ((prev * _EMPH_Q5) >> 5)) >> shift
    d[0] = v + off
    return v * v + int(_emph(0, src, ptr16(int(d) + 2), shift, off, n - 1))


@micropython.viper
def _lags7(x: int, pb: ptr16, a, o: ptr32, k: int, lags: int, m: int) -> int:
    """Seven lags of xcorr: o[k + j] = sum over i in [0, m) of
    a[lags + i] b[k + j + i], j = 0..6 (offset-binary inputs as in xcorr).

    x, pb   the two registers viper gives locals on the ESP32 (the first
            two parameters): x holds a[lags + i] (pass 0), pb walks b
    Returns the window sum of a[lags..lags + m) plus that of b[k..k + m).
    Bounds: as xcorr's acc, each s_j <= m 2^(2B+2) < 2^31; the sum < m 2^(B+2).
    Cost: 8 Xtensa instructions per multiply-accumulate, 8 for the sum and
    17 per i (bench --only chip); the accumulators live in the stack frame.
    """
    pb = ptr16(int(pb) + 2 * k)
    d = int(ptr16(a)) + 2 * lags - int(pb)  # a[lags + i] is at pb + d
    end = int(pb) + 2 * m
    s0 = 0
    s1 = 0
    s2 = 0
    s3 = 0
    s4 = 0
    s5 = 0
    s6 = 0
    sums = 0
    while end > int(pb):
        x = int(ptr16(int(pb) + d)[0])
        sums = int(pb[0]) + x + sums
        s0 = int(pb[0]) * x + s0
        s1 = int(pb[1]) * x + s1
        s2 = int(pb[2]) * x + s2
        s3 = int(pb[3]) * x + s3
        s4 = int(pb[4]) * x + s4
        s5 = int(pb[5]) * x + s5
        s6 = int(pb[6]) * x + s6
        pb = ptr16(int(pb) + 2)
    o = ptr32(int(o) + 4 * k)
    o[0] = s0
    o[1] = s1
    o[2] = s2
    o[3] = s3
    o[4] = s4
    o[5] = s5
    o[6] = s6
    return sums


@micropython.viper
def _lags6(x: int, pb: ptr16, a, o: ptr32, k: int, lags: int, m: int) -> int:
    """Six lags of xcorr, as _lags7 without the window sum: o[k + j] for
    j = 0..5. x, pb: the registers, as in _lags7. Same bounds.
    Cost: 8 Xtensa instructions per multiply-accumulate and 17 per i.
    """
    pb = ptr16(int(pb) + 2 * k)
    d = int(ptr16(a)) + 2 * lags - int(pb)  # a[lags + i] is at pb + d
    end = int(pb) + 2 * m
    s0 = 0
    s1 = 0
    s2 = 0
    s3 = 0
    s4 = 0
    s5 = 0
    while end > int(pb):
        x = int(ptr16(int(pb) + d)[0])
        s0 = int(pb[0]) * x + s0
        s1 = int(pb[1]) * x + s1
        s2 = int(pb[2]) * x + s2
        s3 = int(pb[3]) * x + s3
        s4 = int(pb[4]) * x + s4
        s5 = int(pb[5]) * x + s5
        pb = ptr16(int(pb) + 2)
    o = ptr32(int(o) + 4 * k)
    o[0] = s0
    o[1] = s1
    o[2] = s2
    o[3] = s3
    o[4] = s4
    o[5] = s5
    return 0


@micropython.viper
def xcorr(a, b, out, n: int, lags: int, prev, avg: int) -> int:
    """Cross-correlation of two offset-binary correlator inputs over lags
    -lags..+lags, with the same m = n - 2 lags terms at every lag, averaged
    with the previous frame's when asked.

    a, b  array('H') of n, c = v + O, O = 2^B = out[2 lags + 1] (set by caller)
    out   array('i') of 2 lags + 3; out[k] = r(k - lags) for k in 0..2 lags,
          r(t) = sum over i in [lags, n - lags) of va[i] vb[i + t].
    Offset removal: sum (ca - O)(cb - O) = sum ca cb - O (Sa + Sb(k)) + m O^2.
    Bounds: ca cb <= 2^(2B+2); acc <= m 2^(2B+2) < 2^31 (frontend picks B);
    O (Sa + Sb) < 2^31 likewise; |r| <= m 2^(2B) < 2^29. The offset terms
    cancel exactly in wrapping 32-bit arithmetic too.
    Seven lags at a time share each load of a (_lags7), the last one to
    six lags six at a time (_lags6, overlapping the lags before, which
    recomputes the same sums): the default 13 lags are 7 + 6. Fewer than
    seven lags: one lag at a time.
    prev  array('i'): prev[base + k] the previous frame's r(k), replaced
          by this frame's
    avg   base << 10 | sa | sb << 5: with sa 0, out holds this frame's r;
          else out gets (r >> sa) + (p >> sb): the average of the two at
          the larger of their block shifts (the caller's sa, sb: 1 plus
          twice the shift difference or 0, under 32). Bounds: -2^29 <=
          average < 2^29 (the 30-bit words peak_q8 reads; the shifts floor).
    Returns the index k of the largest r (or average).
    """
    o = ptr32(out)
    pv = ptr32(int(ptr32(prev)) + 4 * (avg >> 10))
    nk = 2 * lags + 1
    off = int(o[nk])
    m = n - 2 * lags
    pb0 = ptr16(b)
    s = 0  # window sum of a[lags..lags + m) plus that of b[0..m)
    if nk >= 7:
        s = int(_lags7(0, b, a, out, 0, lags, m))
        k = 7
        while k + 7 <= nk:
            _lags7(0, b, a, out, k, lags, m)
            k += 7
        if k < nk:  # the last one to six lags: six, overlapping the ones before
            _lags6(0, b, a, out, nk - 6, lags, m)
    else:
        pa = ptr16(int(ptr16(a)) + 2 * lags)  # pa[i] = a[i + lags]
        for i in range(0, m):
            s += int(pa[i]) + int(pb0[i])
        for k in range(0, nk):
            pb = ptr16(int(pb0) + 2 * k)  # pb[i] = b[(i + lags) + (k - lags)]
            acc = 0
            for i in range(0, m):
                acc += int(pa[i]) * int(pb[i])
            o[k] = acc
    # remove the offsets, sliding the window sum of b one lag at a time
    best = 0
    bestk = 0
    mo2 = m * off * off
    sa = avg & 31
    sb = (avg >> 5) & 31
    for k in range(0, nk):
        r = int(o[k]) - off * s + mo2
        u = ((int(pv[k]) & _M30) ^ _B30) - _B30
        pv[k] = r
        if sa:
            r = (r >> sa) + (u >> sb)
        o[k] = r
        if k == 0 or r > best:
            best = r
            bestk = k
        if k + 1 < nk:
            s += int(pb0[k + m]) - int(pb0[k])
    return bestk


@micropython.viper
def db20_q8(v: int, tab) -> int:
    """20 log10(v) * 256 for 0 < v < 2^30 (0 for v <= 0).

    tab  33 16-bit words (array('H') or little-endian bytes):
         20 log10(1 + i/32) * 256, i = 0..32.
    log2 from the bit length, mantissa from the table with linear
    interpolation on the next 5 bits; error < 0.01 dB.
    Bounds: e <= 29; e * 1541 < 2^16; interpolation term < 2^16.
    """
    if v <= 0:
        return 0
    t = ptr16(tab)
    e = 0
    u = v
    if u >= 0x10000:
        u >>= 16
        e += 16
    if u >= 0x100:
        u >>= 8
        e += 8
    if u >= 0x10:
        u >>= 4
        e += 4
    if u >= 0x4:
        u >>= 2
        e += 2
    if u >= 0x2:
        e += 1
    # v in [2^e, 2^(e+1)): 10 bits of mantissa below the leading one
    if e >= 10:
        f = (v >> (e - 10)) & 0x3FF
    else:
        f = (v << (10 - e)) & 0x3FF
    i = f >> 5
    lo = int(t[i])
    hi = int(t[i + 1])
    # 20 log10(2) * 256 = 1541.27: e * 1541 + e * 0.27 (as e * 69 >> 8)
    return e * 1541 + ((e * 69) >> 8) + lo + (((hi - lo) * (f & 31)) >> 5)


@micropython.viper
def bitlen(v: int) -> int:
    """Bit length of 0 <= v < 2^31 (0 for v <= 0)."""
    if v <= 0:
        return 0
    n = 1
    if v >= 0x10000:
        v >>= 16
        n += 16
    if v >= 0x100:
        v >>= 8
        n += 8
    if v >= 0x10:
        v >>= 4
        n += 4
    if v >= 0x4:
        v >>= 2
        n += 2
    if v >= 0x2:
        n += 1
    return n


@micropython.viper
def isqrt(v: int) -> int:
    """floor(sqrt(v)) for 0 <= v < 2^30: Newton from 2^ceil(bits / 2) down."""
    if v <= 0:
        return 0
    x = 1
    u = v
    while u > 0:
        u >>= 2
        x <<= 1
    while True:
        y = (x + v // x) >> 1
        if y >= x:
            return x
        x = y


@micropython.viper
def atan2_q8(y: int, x: int, tab) -> int:
    """atan2(y, x) in degrees * 256 (-46080..46080) for |x|, |y| < 2^30.

    tab  65 16-bit words (array('H') or little-endian bytes): atan(i / 64)
         in degrees * 256. Octant reduction, then the table on the tangent
         in Q10 with linear interpolation on its low 4 bits; error < 0.01
         degree.
    Bounds: |x|, |y| scaled under 2^15, so (. << 10) < 2^25.
    """
    t = ptr16(tab)
    ax = x
    if ax < 0:
        ax = -ax
    ay = y
    if ay < 0:
        ay = -ay
    if ax == 0 and ay == 0:
        return 0
    while ax >= 0x8000 or ay >= 0x8000:
        ax >>= 1
        ay >>= 1
    steep = ay > ax
    if steep:
        r = (ax << 10) // ay
    else:
        r = (ay << 10) // ax
    i = r >> 4
    if i >= 64:
        a = int(t[64])
    else:
        lo = int(t[i])
        a = lo + (((int(t[i + 1]) - lo) * (r & 15)) >> 4)
    if steep:
        a = 23040 - a
    if x < 0:
        a = 46080 - a
    if y < 0:
        a = -a
    return a


@micropython.viper
def peak_q8(xc, k: int, tab) -> int:
    """Sub-sample offset of the correlation peak at xc[k], samples * 256
    (-128..128), from xc[k - 1], xc[k], xc[k + 1] (|r| < 2^29).

    Fits y = A cos(w (t - d)) through the three points:
    cos w = (ym + yp) / (2 y0), tan(w d) = (yp - ym) / (2 y0 sin w). Unlike a
    parabola this is unbiased on the sinc-like peak of a pre-whitened
    correlation. Also stores the fitted peak over the sampled one,
    A / y0 = sqrt(1 + ((yp - ym) / (2 y0 sin w))^2) in Q8 (256..362), in
    xc[len(xc) - 1], so a peak between two lags is not taken for a weak one.
    tab: the atan table of atan2_q8.
    Bounds: values scaled under 2^14; (ym + yp) << 13 < 2^28; c*c <= 2^28;
    y0 * s < 2^28; (angle << 8) < 2^23; t <= y0 < 2^14, (t << 8) < 2^22.
    """
    o = ptr32(xc)
    ym = ((int(o[k - 1]) & _M30) ^ _B30) - _B30
    y0 = ((int(o[k]) & _M30) ^ _B30) - _B30
    yp = ((int(o[k + 1]) & _M30) ^ _B30) - _B30
    gain_at = int(len(xc)) - 1  # after k + 1
    o[gain_at] = 256
    if y0 <= 0:
        return 0
    big = y0
    if -ym > big:
        big = -ym
    if -yp > big:
        big = -yp
    while big >= 0x4000:
        big >>= 1
        ym >>= 1
        y0 >>= 1
        yp >>= 1
    if y0 <= 0:
        return 0
    c = ((ym + yp) << 13) // y0  # cos w, Q14
    if c > 16384:
        c = 16384
    elif c < -16384:
        c = -16384
    s = int(isqrt((1 << 28) - c * c))  # sin w, Q14
    w = int(atan2_q8(s, c, tab))
    if w < 64:  # a flat top (w under 0.25 degree): no sub-sample information
        return 0
    d = (int(atan2_q8(yp - ym, (y0 * s) >> 13, tab)) << 8) // w
    if s > 0:
        t = yp - ym
        if t < 0:
            t = -t
        t = (t << 13) // s  # A sin(w d), at the scale of y0
        if t > y0:
            t = y0
        o[gain_at] = (int(isqrt(y0 * y0 + t * t)) << 8) // y0
    if d > 128:
        return 128
    if d < -128:
        return -128
    return d
