# Audio front end: I2S words (or 16-bit PCM) to per-frame features, voice
# activity and direction. The per-sample work is in tbfw.dsp (viper); this
# module is the per-frame logic, in integers only (floats allocate on
# MicroPython), over buffers allocated once in __init__.
#
# Q formats of the outputs:
#   level_db_q8, frame_db_q8, noise_db_q8   dBFS * 256 (RMS-equivalent for
#       Gaussian signals: 20 log10(mean |q| / 32768) + 1.96 dB); -120 dBFS
#       (-30720) for digital silence
#   vad_conf_q8, lag_conf_q8                0..256
#   lag_q8                                  samples * 256, arrival at the
#       pair's `minus` microphone minus arrival at its `plus` microphone
#   azimuth_deg                             whole degrees, 0..359 (CCW from +x)
#
# Values kept in Python stay under 2^30 (small ints on the ESP32).
# docs/frontend.md has the design, the reasons and the measured figures.

import micropython
from micropython import const

from tbfw import dsp, ondemand

WARMUP_MS = const(300)  # microphone wake-up (INMP441: 2^18 SCK cycles) plus DC filter settling
_SILENT_Q8 = const(-30720)  # -120 dBFS: the level reported for digital silence
_DB_PER_BIT_Q8 = const(1541)  # 20 log10(2) * 256

# Voice activity (dB * 256, times in ms)
_VAD_ON_Q8 = const(1024)  # speech when the frame level is 4 dB over the noise floor
_FALL_SHIFT = const(2)  # floor falls to a lower level with a time constant of 4 frames
_CLICK_Q8 = const(7680)  # a frame whose peak (as 2^bits) is 30 dB over its mean |q| is a click
_DEAD_REL_Q8 = const(10240)  # a channel 40 dB under the loudest one ...
_DEAD_ABS_Q8 = const(-17920)  # ... while that one is over -70 dBFS, or a silent one, for:
# (the hangover, the floor's rise and the dead time, set once: tbfw.frontsetup)

# Direction
_MIN_LAG_CONF_Q8 = const(90)  # a pair's normalised correlation peak must reach 0.35 (docs/frontend.md)
# Two frames (docs/frontend.md): when the speech level (the running mean of
# the voiced frames' levels, over about 2^_TALK_SHIFT of them) is under
# _AVG_SNR_Q8 over the noise floor, a frame under _AVG_FRAME_Q8 over the floor
# is correlated over itself and the frame before, and its peak must reach
# _MIN_AVG_CONF_Q8 (0.27)
_TALK_SHIFT = const(6)
_AVG_SNR_Q8 = const(2304)  # 9 dB
_AVG_FRAME_Q8 = const(2560)  # 10 dB
_MIN_AVG_CONF_Q8 = const(70)
# A seated talker's mouth is about 30 degrees above the table as seen from
# the device (the simulator's talkers: 0.45 m above it, 0.7-1.5 m away): the
# horizontal part of their path difference is cos 30 = 0.85 of the whole
_TALKER_ELEVATION_Q8 = const(218)
# cos(5 i degrees) * 16384, i = 0..18, as 16-bit little-endian words
_COS_Q14 = (b"\x00\x40\xc2\x3f\x07\x3f\xd2\x3d\x24\x3c\x01\x3a\x6d\x37\x6d\x34\x07\x31\x41\x2d"
            b"\x23\x29\xb5\x24\x00\x20\x0c\x1b\xe4\x15\x90\x10\x1d\x0b\x94\x05\x00\x00")
# words of a channel's state (dsp.S_*, folded here: a module's constants
# are not folded into another's code; a test checks they match)
_S_PREVQ = const(2)
_S_SUMABS = const(3)
_S_ORQ = const(4)


def _cos_q14(deg):
    """cos of whole degrees, Q14, from _COS_Q14 (linear between 5 degrees)."""
    deg %= 360
    if deg > 180:
        deg = 360 - deg
    sign = 1
    if deg > 90:
        deg = 180 - deg
        sign = -1
    i = deg // 5
    lo = _COS_Q14[2 * i] | _COS_Q14[2 * i + 1] << 8
    if i < 18:
        hi = _COS_Q14[2 * i + 2] | _COS_Q14[2 * i + 3] << 8
        lo += (hi - lo) * (deg - 5 * i) // 5
    return sign * lo


class FrontEnd:
    """Per-frame features of the board's microphones; see the module header
    for the Q formats and docs/frontend.md for the design.

    Feed one frame (ingest_i2s for every bus, or ingest_pcm16), then call
    process() and read the attributes.
    """

    def __init__(self, desc, cfg, warmup_ms=WARMUP_MS):
        # boot-only: the buffers, tables and geometry are set up by
        # tbfw.frontsetup, loaded for the call and released after it (with
        # this module's kernels, dsp)
        ondemand.call("frontsetup", "setup", self, dsp, desc, cfg, warmup_ms)

    # -- ingest -------------------------------------------------------------

    def ingest_i2s(self, bus, buf):
        """One frame of one I2S bus: frame_samples stereo int32 words."""
        left, right = self._buses[bus]
        sl = self._st[left]
        sr = self._st[right]
        redo = dsp.ingest_bus(buf, self._q[left], self._q[right], sl, sr)
        if redo & 1:
            self.clip_count += dsp.ingest32_exact(buf, self._q[left], sl)
        if redo & 2:
            self.clip_count += dsp.ingest32_exact(buf, self._q[right], sr)

    def prepare_pcm16(self):
        """Make ingest_pcm16's buffer now (at boot, while the heap is in one
        piece) rather than at the first frame."""
        if self._words is None:  # a board with I2S microphones never needs it
            self._words = bytearray(8 * self.frame_samples)
        return self._words

    def ingest_pcm16(self, buf):
        """One frame of interleaved int16 PCM, all channels in channel order."""
        n = self.frame_samples
        chans = self.channels
        words = self._words or self.prepare_pcm16()
        for bus in range(len(self._buses)):
            left, right = self._buses[bus]
            dsp.pcm16_to_words(buf, words, n, chans, left | (right << 8))
            self.ingest_i2s(bus, words)

    # -- per frame ----------------------------------------------------------

    @micropython.native
    def process(self):
        """Features, voice activity and direction of the frame just ingested."""
        self.frames += 1
        chans = self.channels
        tab = self._db_tab
        levels = self.level_db_q8
        states = self._st
        lvl_off = self._lvl_off_q8
        db_n = self._db_n_q8
        db20 = dsp.db20_q8
        loud = _SILENT_Q8
        crest = 0
        for ch in range(chans):
            st = states[ch]
            sa = st[_S_SUMABS]
            if sa > 0:
                db = db20(sa, tab)
                lvl = db - lvl_off
                # crest: peak bound 2^bits(max |q|) over the mean |q|
                cr = dsp.bitlen(st[_S_ORQ]) * _DB_PER_BIT_Q8 + db_n - db
                if cr > crest:
                    crest = cr
            else:
                lvl = _SILENT_Q8
            levels[ch] = lvl
            if lvl > loud:
                loud = lvl
        # dead or disconnected microphones: reported after _DEAD_MS, but a
        # channel that looks dead is left out of this frame's level at once
        dead = 0
        out = 0
        counts = self._dead_count
        dead_frames = self._dead_frames
        was_dead = self.dead_mask
        for ch in range(chans):
            lvl = levels[ch]
            bad = lvl == _SILENT_Q8 or (loud > _DEAD_ABS_Q8 and lvl < loud - _DEAD_REL_Q8)
            cnt = counts[ch]
            if bad:
                out |= 1 << ch
                if cnt < dead_frames:
                    cnt += 1
            elif cnt > 0:
                cnt -= 1
            counts[ch] = cnt
            if cnt >= dead_frames or (cnt > 0 and (was_dead >> ch) & 1):
                dead |= 1 << ch
        self.dead_mask = dead
        out |= dead
        total = 0
        live = 0
        for ch in range(chans):
            if not (out >> ch) & 1:
                total += levels[ch]
                live += 1
        frame = total // live if live else _SILENT_Q8
        self.frame_db_q8 = frame
        self.direction_valid = False
        lags = self.lag_q8
        confs = self.lag_conf_q8
        for p in range(self.pairs):  # lags are reported only for correlated frames
            lags[p] = 0
            confs[p] = 0
        if self.frames <= self._warm_frames:
            self.warming_up = True
            self.speech = False
            self.voiced = False
            self.vad_conf_q8 = 0
            return
        self.warming_up = False

        # noise floor and voice activity
        click = crest >= _CLICK_Q8
        self.click = click
        if not self._floor_set:
            self._floor_set = True
            self.noise_db_q8 = frame
        floor = self.noise_db_q8
        above = frame - floor
        cand = above >= _VAD_ON_Q8 and not click and live > 0
        if cand:
            self._run += 1
        else:
            self._run = 0
        if above < 0:
            floor += above >> _FALL_SHIFT
        elif not click:
            rise = self._rise_q8 * (1 + self._run // self._fps)
            floor = floor + rise if rise < above else frame
        self.noise_db_q8 = floor
        if cand:
            self._hang = self._hang_frames
        elif self._hang > 0:
            self._hang -= 1
        self.speech = cand or self._hang > 0
        self.voiced = cand
        conf = above * 128 // _VAD_ON_Q8
        self.vad_conf_q8 = 0 if conf < 0 else (256 if conf > 256 else conf)
        if cand:
            pv = self._prev  # the speech level first
            pv[0] += (frame - pv[0]) >> _TALK_SHIFT
            # averaged with the frame before if that one was correlated too
            self._direction(out, pv[0] - floor < _AVG_SNR_Q8 and above < _AVG_FRAME_Q8 and self._run > 1)

    # -- listening at the talkers' lags (plain code: called by the pipeline
    # once both talkers are known; docs/frontend.md, "Listening at the
    # talkers' lags") ---------------------------------------------------------

    def listen_at(self, slot_az):
        """The two talkers' azimuths (whole degrees; -1 while one is not
        known): the lags hear() reads at each pair, the pair's largest lag
        times _TALKER_ELEVATION_Q8 and the cosine of the talker's angle from
        the pair's axis."""
        if slot_az[0] < 0 or slot_az[1] < 0:
            self._listening = False
            return
        pairs = self.pairs
        for t in range(2):
            for p in range(pairs):
                along = (self._maxlag_q8[p] * _TALKER_ELEVATION_Q8) >> 8
                self._listen[t * pairs + p] = (along * _cos_q14(slot_az[t] - ((self._axis_q8[p] + 128) >> 8))) >> 14
        self._listening = True

    def hear(self):
        """After process(), while listening: in a noisy room (the speech
        level under _AVG_SNR_Q8 over the floor, the frame under
        _AVG_FRAME_Q8), each talker's normalised correlation at their own
        lags, summed over the pairs, in heard_q8 (Q8, 256 = 1 per pair),
        over this frame and the one before as the front end averages them;
        True when it did. A noisy room's voiced frames' correlation is kept
        for the next one."""
        if not self._listening or not self.voiced or self.dead_mask:
            return False
        pv = self._prev
        floor = self.noise_db_q8
        if pv[0] - floor >= _AVG_SNR_Q8:  # not a noisy room: directions enough
            return False
        old = self._heard_prev
        frames = self.frames
        scored = self.frame_db_q8 - floor < _AVG_FRAME_Q8
        if scored:
            both = self._heard_at == frames - 1  # the frame before was voiced: kept
            lags = self.lags
            pairs = self.pairs
            heard = self.heard_q8
            heard[0] = heard[1] = 0
            sa = sb = 0
            for p in range(pairs):
                b = (2 * lags + 3) * p + 1  # this pair's r(k), then its energy and shift
                i = b + 2 * lags + 1
                e = pv[i]
                if both:  # the two frames at the larger block shift, halved, as _direction does
                    ds = 2 * (old[i + 1] - pv[i + 1])
                    sa = (ds if ds > 0 else 0) + 1
                    sb = sa - ds
                    e = (e >> sa) + (old[i] >> sb)
                den = (e >> 9) + 1
                for t in range(2):
                    x = self._listen[t * pairs + p] + (lags << 8)
                    k = b + (x >> 8)
                    f = x & 255
                    r0 = pv[k]
                    r1 = pv[k + 1]
                    if both:
                        r0 = (r0 >> sa) + (old[k] >> sb)
                        r1 = (r1 >> sa) + (old[k + 1] >> sb)
                    # r(k) < 2^29: interpolated in 2^21 * 2^8, normalised like the peak's confidence
                    r = (r0 >> 8) * (256 - f) + (r1 >> 8) * f
                    heard[t] += (r >> 8) * 256 // den
        for j in range(len(pv)):
            old[j] = pv[j]
        self._heard_at = frames
        return scored

    @micropython.native
    def _direction(self, dead, low):
        n = self.frame_samples
        lags = self.lags
        cb = self._cbits
        usable = 0  # pairs with a confident peak
        present = 0  # pairs with both microphones working
        last = 0
        for p in range(self.pairs):
            plus, minus = self._pair_ch[p]
            if (dead >> plus) & 1 or (dead >> minus) & 1:
                continue
            present |= 1 << p
            sp = self._st[plus]
            sm = self._st[minus]
            pa = sp[_S_PREVQ]
            pb = sm[_S_PREVQ]
            peak = sp[_S_ORQ] | sm[_S_ORQ] | (-pa if pa < 0 else pa) | (-pb if pb < 0 else pb)
            shift = dsp.bitlen(peak) + 1 - cb
            if shift < 0:
                shift = 0
            ea = dsp.prep(self._q[plus], self._ca, sp, shift, cb)
            eb = dsp.prep(self._q[minus], self._cb, sm, shift, cb)
            xc = self._xc
            # in a noisy room, averaged with the frame before when that one
            # was correlated too (docs/frontend.md, "Two frames"), at the
            # larger of the two block shifts
            e = ea + eb
            pv = self._prev
            b = (2 * lags + 3) * p + 1  # this pair's r(k), then its energy and shift at i
            i = b + 2 * lags + 1
            ds = 2 * (pv[i + 1] - shift)  # the frame before's block shift less this one's, twice
            sa = (ds if ds > 0 else 0) + 1  # shifts taking both to the larger, and halving
            sb = sa - ds
            k = dsp.xcorr(self._ca, self._cb, xc, n, lags, pv, b << 10 | (sa | sb << 5 if low else 0))
            if low:
                e = (e >> sa) + (pv[i] >> sb)
            pv[i] = ea + eb
            pv[i + 1] = shift
            r = xc[k]
            if k == 0 or k == 2 * lags:  # at the edge of the searched range
                conf = 0
                d = 0
            else:
                d = dsp.peak_q8(xc, k, self._atan_tab)
                # normalised peak 2 A / (Ea + Eb), A the fitted peak (r * gain), over the two frames
                den = (e >> 9) + 1
                conf = (((r >> 8) * xc[2 * lags + 2]) >> 8) * 256 // den if r > 0 else 0
                if conf > 256:
                    conf = 256
            self.lag_q8[p] = ((k - lags) << 8) + d
            self.lag_conf_q8[p] = conf
            if conf >= (_MIN_AVG_CONF_Q8 if low else _MIN_LAG_CONF_Q8):
                usable |= 1 << p
                last = p
        self.correlated_frames += 1
        if usable == 3 and self._inv is not None:
            m00, m01, m10, m11 = self._inv
            l0 = self.lag_q8[0]
            l1 = self.lag_q8[1]
            a = dsp.atan2_q8(m10 * l0 + m11 * l1, m00 * l0 + m01 * l1, self._atan_tab)
            self.ambiguous = False
        elif usable and usable == present:
            # one working pair: angle from its axis, front/back unknown
            mx = self._maxlag_q8[last]
            c = (self.lag_q8[last] << 14) // mx
            if c > 16384:
                c = 16384
            elif c < -16384:
                c = -16384
            a = self._axis_q8[last] + dsp.atan2_q8(dsp.isqrt((1 << 28) - c * c), c, self._atan_tab)
            self.ambiguous = True
        else:
            return
        self.azimuth_deg = ((a + 128) >> 8) % 360
        self.direction_valid = True
