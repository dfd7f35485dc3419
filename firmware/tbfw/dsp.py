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
STATE_WORDS = const(10)

RAIL = const(0x7FFF00)  # |x| at or above this is at the INMP441's rails (int16 rails * 2^8)
_Q_MAX = const(32767)
_Q_MIN = const(-32768)
_EMPH_Q5 = const(29)  # pre-emphasis coefficient, 29/32 = 0.906
_M30 = const(0x3FFFFFFF)  # state words hold values of at most 30 bits: sign-extend from there
_B30 = const(0x20000000)


@micropython.viper
def ingest32(src, dst, st, dc_k: int) -> int:
    """Fast path: one channel of one I2S frame, no saturation or clip count.

    src  little-endian int32 words (machine.I2S STEREO, bits=32): sample i of
         this channel is word st[S_OFFSET] + i * st[S_STRIDE]
    dst  array('h') of N: q (Q15, DC removed, gain applied)
    st   channel state (header). DC removal: y = x - (dc >> dc_k),
         dc += y: a one-pole high-pass with corner fs / (2 pi 2^dc_k).
    Bounds: |x| <= 2^23; |dc| <= 2^(23 + dc_k) + 2^dc_k < 2^29 (dc_k <= 5);
    |y| < 2^24; sumabs < N 2^16 <= 2^27; orq, orx < 2^24.
    Returns 1, leaving the state untouched, when the frame may hold a sample
    at the rails or a q beyond int16: the caller then runs ingest32_exact.
    Else stores the state and returns 0.
    """
    p = ptr32(src)
    d = ptr16(dst)
    s = ptr32(st)
    n = int(s[S_N])
    stride = int(s[S_STRIDE])
    j = int(s[S_OFFSET])
    shift = int(s[S_SHIFT])
    acc = ((int(s[S_DC]) & _M30) ^ _B30) - _B30
    sumabs = 0
    orq = 0
    orx = 0
    q = 0
    for i in range(n):
        x = (((int(p[j]) >> 8) & 0xFFFFFF) ^ 0x800000) - 0x800000
        j += stride
        orx |= x ^ (x >> 31)  # ones' complement |x|: rails show as 0x7FFFxx
        y = x - (acc >> dc_k)
        acc += y
        q = y >> shift
        d[i] = q
        m = q >> 31
        q = (q ^ m) - m
        sumabs += q
        orq |= q
    if orx >= RAIL or orq > _Q_MAX:
        return 1
    s[S_DC] = acc
    s[S_PREVQ] = s[S_LASTQ]
    s[S_LASTQ] = (int(d[n - 1]) ^ 0x8000) - 0x8000
    s[S_SUMABS] = sumabs
    s[S_ORQ] = orq
    s[S_CLIPS] = 0
    return 0


@micropython.viper
def ingest32_exact(src, dst, st, dc_k: int) -> int:
    """Slow path of ingest32 for frames near full scale: same maths, with q
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
    lr = left | right << 8. Values < 2^32: a plain bit pattern.
    """
    p = ptr16(src)
    w = ptr32(words)
    left = lr & 0xFF
    right = lr >> 8
    j = 0
    for i in range(n):
        w[2 * i] = int(p[j + left]) << 16
        w[2 * i + 1] = int(p[j + right]) << 16
        j += channels
    return n


@micropython.viper
def prep(src, dst, st, shift: int, bits: int) -> int:
    """Correlator input of one channel: pre-emphasis, block scaling, offset.

    src  array('h') of N q; dst array('H') of N:
         c[i] = ((q[i] - (29 q[i-1] >> 5)) >> shift) + 2^bits,
         q[-1] = st[S_PREVQ]. The caller picks shift so that
         |q[i] - 29/32 q[i-1]| < 2^(bits + shift), i.e. |v| <= 2^bits.
    Bounds: |w| < 2^16; v*v <= 2^(2 bits); energy < N 2^(2 bits) <= 2^29.
    Returns the energy sum v^2 over the frame.
    """
    s = ptr16(src)
    d = ptr16(dst)
    t = ptr32(st)
    n = int(t[S_N])
    prev = ((int(t[S_PREVQ]) & _M30) ^ _B30) - _B30
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
    out   array('i') of 2 lags + 2; out[k] = r(k - lags) for k in 0..2 lags,
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


@micropython.viper
def db20_q8(v: int, tab) -> int:
    """20 log10(v) * 256 for 0 < v < 2^30 (0 for v <= 0).

    tab  array('H') of 33: 20 log10(1 + i/32) * 256, i = 0..32.
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
