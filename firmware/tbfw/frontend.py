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

import array

import micropython
from micropython import const

from tbfw import dsp
from tbfw.talker import zeros

WARMUP_MS = const(300)  # microphone wake-up (INMP441: 2^18 SCK cycles) plus DC filter settling
_SILENT_Q8 = const(-30720)  # -120 dBFS: the level reported for digital silence
_RMS_CORR_Q8 = const(502)  # 20 log10(sqrt(pi / 2)) = 1.96 dB: mean |x| to RMS for Gaussian x
_DC_CORNER_HZ = const(100)
_DB_PER_BIT_Q8 = const(1541)  # 20 log10(2) * 256

# Voice activity (dB * 256, times in ms)
_VAD_ON_Q8 = const(1024)  # speech when the frame level is 4 dB over the noise floor
_HANG_MS = const(160)  # speech holds this long after the last frame over the threshold
_FALL_SHIFT = const(2)  # floor falls to a lower level with a time constant of 4 frames
_RISE_Q8_PER_S = const(256)  # floor rises 1 dB/s under a level above it ...
_CLICK_Q8 = const(7680)  # a frame whose peak (as 2^bits) is 30 dB over its mean |q| is a click
_DEAD_REL_Q8 = const(10240)  # a channel 40 dB under the loudest one ...
_DEAD_ABS_Q8 = const(-17920)  # ... while that one is over -70 dBFS, or a silent one, for:
_DEAD_MS = const(1000)

# Direction
_MIN_LAG_CONF_Q8 = const(90)  # a pair's normalised correlation peak must reach 0.35 (docs/frontend.md)
_LAG_MARGIN = const(1)  # lags searched beyond the physical range (samples)

# atan(i / 64) in degrees * 256, i = 0..64
_ATAN_Q8 = (0, 229, 458, 687, 916, 1144, 1371, 1598, 1824, 2049, 2273, 2497, 2719, 2939, 3159, 3377,
            3593, 3808, 4021, 4233, 4443, 4650, 4856, 5060, 5262, 5462, 5660, 5856, 6049, 6240, 6429,
            6616, 6801, 6983, 7163, 7340, 7516, 7689, 7859, 8027, 8193, 8357, 8518, 8677, 8834, 8989,
            9141, 9291, 9439, 9584, 9728, 9869, 10008, 10145, 10280, 10413, 10544, 10672, 10799, 10924,
            11047, 11168, 11287, 11405, 11520)
# 20 log10(1 + i / 32) * 256, i = 0..32
_DB_Q8 = (0, 68, 135, 199, 262, 323, 382, 440, 496, 551, 605, 657, 708, 758, 807, 855, 902, 947, 992,
          1036, 1080, 1122, 1163, 1204, 1244, 1284, 1322, 1360, 1398, 1435, 1471, 1506, 1541)


class FrontEnd:
    """Per-frame features of the board's microphones; see the module header
    for the Q formats and docs/frontend.md for the design.

    Feed one frame (ingest_i2s for every bus, or ingest_pcm16), then call
    process() and read the attributes.
    """

    def __init__(self, desc, cfg, warmup_ms=WARMUP_MS):
        rate = desc["sample_rate_hz"]
        n = rate * cfg["frame_ms"] // 1000
        self.rate = rate
        self.frame_ms = cfg["frame_ms"]
        self.frame_samples = n
        self.channels = desc["channels"]
        self.pairs = len(desc["pair_lags"])
        chans = self.channels

        # DC corner fs / (2 pi 2^k) nearest 100 Hz on a log scale, k in 3..5
        # (80 Hz at 8 and 16 kHz, 159 Hz at 32 kHz, 239 Hz at 48 kHz)
        k = 3
        while k < 5 and rate / (6.2832 * (1 << k)) > _DC_CORNER_HZ * 1.414:
            k += 1
        self.dc_k = k
        shift = 8 - cfg["gain_shift"]
        self._q = []
        self._st = []
        self._bus_of = [0] * chans
        self._buses = []
        for bus, spec in enumerate(desc["i2s"]):
            left, right = spec["channels"]
            self._buses.append((left, right))
            self._bus_of[left] = bus
            self._bus_of[right] = bus
        for ch in range(chans):
            st = zeros("i", dsp.STATE_WORDS)
            st[dsp.S_SHIFT] = shift
            st[dsp.S_N] = n
            st[dsp.S_STRIDE] = 2
            st[dsp.S_DCK] = k
            self._st.append(st)
            self._q.append(zeros("h", n))
        for left, right in self._buses:
            self._st[left][dsp.S_OFFSET] = 0
            self._st[right][dsp.S_OFFSET] = 1
        self._words = None  # ingest_pcm16's I2S words, one bus at a time; made on first use

        # pairs: lag range, correlator buffers, geometry
        pos = {}
        for mic in desc["mics"]:
            pos[mic["channel"]] = (mic["x_m"], mic["y_m"])
        c = desc["speed_of_sound_m_s"]
        self._pair_ch = []
        self._maxlag_q8 = []
        axes = []
        lags = 0
        for plus, minus, spacing in desc["pair_lags"]:
            self._pair_ch.append((plus, minus))
            maxlag = spacing * rate / c
            self._maxlag_q8.append(int(maxlag * 256 + 0.5))
            lags = max(lags, int(maxlag + 0.999) + _LAG_MARGIN)
            ax = pos[plus][0] - pos[minus][0]
            ay = pos[plus][1] - pos[minus][1]
            axes.append((ax, ay))
        self.lags = lags
        self._atan_tab = array.array("H", _ATAN_Q8)
        nbits = dsp.bitlen(n - 1)  # ceil(log2 n)
        self._cbits = (29 - nbits) // 2  # correlator input bits B: n 2^(2B+2) <= 2^31
        self._ca = zeros("H", n)
        self._cb = zeros("H", n)
        self._xc = zeros("i", 2 * lags + 3)  # r, offset, peak gain
        self._xc[2 * lags + 1] = 1 << self._cbits
        # one-pair direction: the pair axis angle; two pairs: u ~ inverse(A) lags
        self._axis_q8 = [dsp.atan2_q8(int(ay * 1e6), int(ax * 1e6), self._atan_tab) for ax, ay in axes]
        self._inv = None
        if len(axes) == 2:
            (a00, a01), (a10, a11) = axes
            det = a00 * a11 - a01 * a10
            if abs(det) > 1e-9:
                inv = (a11 / det, -a01 / det, -a10 / det, a00 / det)
                big = max(abs(v) for v in inv)
                self._inv = tuple(int(round(v / big * 4096)) for v in inv)

        self._db_tab = array.array("H", _DB_Q8)
        # level = db20(sumabs) - db20(n * 32768) + 1.96 dB
        self._lvl_off_q8 = dsp.db20_q8(n << 15, self._db_tab) - _RMS_CORR_Q8
        self._db_n_q8 = dsp.db20_q8(n, self._db_tab)
        fps_num = 1000  # frames per second = 1000 / frame_ms
        fm = self.frame_ms
        self._warm_frames = (warmup_ms + fm - 1) // fm
        self._hang_frames = (_HANG_MS + fm - 1) // fm
        self._dead_frames = (_DEAD_MS + fm - 1) // fm
        self._fps = fps_num // fm
        self._rise_q8 = max(1, _RISE_Q8_PER_S * fm // 1000)

        # outputs
        self.level_db_q8 = array.array("i", [_SILENT_Q8] * chans)
        self.frame_db_q8 = _SILENT_Q8
        self.noise_db_q8 = _SILENT_Q8
        self.speech = False
        self.voiced = False  # over the threshold in this frame (speech without the hangover)
        self.vad_conf_q8 = 0
        self.lag_q8 = zeros("i", self.pairs)
        self.lag_conf_q8 = zeros("i", self.pairs)
        self.direction_valid = False
        self.azimuth_deg = 0
        self.ambiguous = self.pairs == 1
        self.clip_count = 0
        self.dead_mask = 0
        self.warming_up = True
        self.click = False
        self.frames = 0
        self.correlated_frames = 0
        # state
        self._dead_count = zeros("i", chans)
        self._floor_set = False
        self._hang = 0
        self._run = 0

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
        loud = _SILENT_Q8
        crest = 0
        for ch in range(chans):
            st = self._st[ch]
            sa = st[dsp.S_SUMABS]
            if sa > 0:
                lvl = dsp.db20_q8(sa, tab) - self._lvl_off_q8
                # crest: peak bound 2^bits(max |q|) over the mean |q|
                cr = dsp.bitlen(st[dsp.S_ORQ]) * _DB_PER_BIT_Q8 + self._db_n_q8 - dsp.db20_q8(sa, tab)
                if cr > crest:
                    crest = cr
            else:
                lvl = _SILENT_Q8
            levels[ch] = lvl
            if lvl > loud:
                loud = lvl
        # dead or disconnected microphones
        # dead or disconnected microphones: reported after _DEAD_MS, but a
        # channel that looks dead is left out of this frame's level at once
        dead = 0
        out = 0
        for ch in range(chans):
            lvl = levels[ch]
            bad = lvl == _SILENT_Q8 or (loud > _DEAD_ABS_Q8 and lvl < loud - _DEAD_REL_Q8)
            cnt = self._dead_count[ch]
            if bad:
                out |= 1 << ch
                if cnt < self._dead_frames:
                    cnt += 1
            elif cnt > 0:
                cnt -= 1
            self._dead_count[ch] = cnt
            if cnt >= self._dead_frames or (cnt > 0 and (self.dead_mask >> ch) & 1):
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
        for p in range(self.pairs):  # lags are reported only for correlated frames
            self.lag_q8[p] = 0
            self.lag_conf_q8[p] = 0
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
            self._direction(out)

    @micropython.native
    def _direction(self, dead):
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
            pa = sp[dsp.S_PREVQ]
            pb = sm[dsp.S_PREVQ]
            peak = sp[dsp.S_ORQ] | sm[dsp.S_ORQ] | (-pa if pa < 0 else pa) | (-pb if pb < 0 else pb)
            shift = dsp.bitlen(peak) + 1 - cb
            if shift < 0:
                shift = 0
            ea = dsp.prep(self._q[plus], self._ca, sp, shift, cb)
            eb = dsp.prep(self._q[minus], self._cb, sm, shift, cb)
            xc = self._xc
            k = dsp.xcorr(self._ca, self._cb, xc, n, lags)
            r = xc[k]
            if k == 0 or k == 2 * lags:  # at the edge of the searched range
                conf = 0
                d = 0
            else:
                d = dsp.peak_q8(xc, k, self._atan_tab)
                # normalised peak 2 A / (Ea + Eb), A the fitted peak (r * gain)
                den = ((ea + eb) >> 9) + 1
                conf = (((r >> 8) * xc[2 * lags + 2]) >> 8) * 256 // den if r > 0 else 0
                if conf > 256:
                    conf = 256
            self.lag_q8[p] = ((k - lags) << 8) + d
            self.lag_conf_q8[p] = conf
            if conf >= _MIN_LAG_CONF_Q8:
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
