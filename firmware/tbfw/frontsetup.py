# The front end's set-up (FrontEnd.__init__): buffers, tables and the
# microphones' geometry, made once at boot. Loaded on demand (tbfw.ondemand)
# so that this code does not stay in the heap for the whole session; the
# attributes it sets are tbfw.frontend's (see there for the Q formats).

import array

from micropython import const

from tbfw.talker import zeros

_SILENT_Q8 = const(-30720)  # -120 dBFS: the level reported for digital silence (as tbfw.frontend)
_RMS_CORR_Q8 = const(502)  # 20 log10(sqrt(pi / 2)) = 1.96 dB: mean |x| to RMS for Gaussian x
_DC_CORNER_HZ = const(100)
_HANG_MS = const(160)  # speech holds this long after the last frame over the threshold
_RISE_Q8_PER_S = const(256)  # floor rises 1 dB/s under a level above it
_DEAD_MS = const(1000)  # a dead channel: so long under the loudest one (tbfw.frontend)
_LAG_MARGIN = const(1)  # lags searched beyond the physical range (samples)

# The tables dsp's viper code reads in place (ptr16), as 16-bit little-endian
# words in bytes: kept by the front end with no array copy and no tuple.
# atan(i / 64) in degrees * 256, i = 0..64: 0, 229, 458, ... 11287, 11405, 11520
_ATAN_Q8 = (b"\x00\x00\xe5\x00\xca\x01\xaf\x02\x94\x03\x78\x04\x5b\x05\x3e\x06\x20\x07\x01\x08\xe1\x08\xc1\x09"
            b"\x9f\x0a\x7b\x0b\x57\x0c\x31\x0d\x09\x0e\xe0\x0e\xb5\x0f\x89\x10\x5b\x11\x2a\x12\xf8\x12\xc4\x13"
            b"\x8e\x14\x56\x15\x1c\x16\xe0\x16\xa1\x17\x60\x18\x1d\x19\xd8\x19\x91\x1a\x47\x1b\xfb\x1b\xac\x1c"
            b"\x5c\x1d\x09\x1e\xb3\x1e\x5b\x1f\x01\x20\xa5\x20\x46\x21\xe5\x21\x82\x22\x1d\x23\xb5\x23\x4b\x24"
            b"\xdf\x24\x70\x25\x00\x26\x8d\x26\x18\x27\xa1\x27\x28\x28\xad\x28\x30\x29\xb0\x29\x2f\x2a\xac\x2a"
            b"\x27\x2b\xa0\x2b\x17\x2c\x8d\x2c\x00\x2d")
# 20 log10(1 + i / 32) * 256, i = 0..32: 0, 68, 135, ... 1506, 1541
_DB_Q8 = (b"\x00\x00\x44\x00\x87\x00\xc7\x00\x06\x01\x43\x01\x7e\x01\xb8\x01\xf0\x01\x27\x02\x5d\x02\x91\x02"
          b"\xc4\x02\xf6\x02\x27\x03\x57\x03\x86\x03\xb3\x03\xe0\x03\x0c\x04\x38\x04\x62\x04\x8b\x04\xb4\x04"
          b"\xdc\x04\x04\x05\x2a\x05\x50\x05\x76\x05\x9b\x05\xbf\x05\xe2\x05\x05\x06")


def setup(fe, dsp, desc, cfg, warmup_ms):
    """FrontEnd.__init__: fe's attributes for the board `desc` and the
    config `cfg`, with the kernels of `dsp` (tbfw.dsp)."""
    rate = desc["sample_rate_hz"]
    n = rate * cfg["frame_ms"] // 1000
    fe.rate = rate
    fe.frame_ms = cfg["frame_ms"]
    fe.frame_samples = n
    fe.channels = desc["channels"]
    fe.pairs = len(desc["pair_lags"])
    chans = fe.channels

    # DC corner fs / (2 pi 2^k) nearest 100 Hz on a log scale, k in 3..5
    # (80 Hz at 8 and 16 kHz, 159 Hz at 32 kHz, 239 Hz at 48 kHz)
    k = 3
    while k < 5 and rate / (6.2832 * (1 << k)) > _DC_CORNER_HZ * 1.414:
        k += 1
    fe.dc_k = k
    shift = 8 - cfg["gain_shift"]
    fe._q = []
    fe._st = []
    fe._bus_of = [0] * chans
    fe._buses = []
    for bus, spec in enumerate(desc["i2s"]):
        left, right = spec["channels"]
        fe._buses.append((left, right))
        fe._bus_of[left] = bus
        fe._bus_of[right] = bus
    for ch in range(chans):
        st = zeros("i", dsp.STATE_WORDS)
        st[dsp.S_SHIFT] = shift
        st[dsp.S_N] = n
        st[dsp.S_STRIDE] = 2
        st[dsp.S_DCK] = k
        fe._st.append(st)
        fe._q.append(zeros("h", n))
    for left, right in fe._buses:
        fe._st[left][dsp.S_OFFSET] = 0
        fe._st[right][dsp.S_OFFSET] = 1
    fe._words = None  # ingest_pcm16's I2S words, one bus at a time; made on first use

    # pairs: lag range, correlator buffers, geometry
    pos = {}
    for mic in desc["mics"]:
        pos[mic["channel"]] = (mic["x_m"], mic["y_m"])
    c = desc["speed_of_sound_m_s"]
    fe._pair_ch = []
    fe.pair_masks = []  # each pair's two channels as bits of dead_mask
    fe._maxlag_q8 = []
    axes = []
    lags = 0
    for plus, minus, spacing in desc["pair_lags"]:
        fe._pair_ch.append((plus, minus))
        fe.pair_masks.append(1 << plus | 1 << minus)
        maxlag = spacing * rate / c
        fe._maxlag_q8.append(int(maxlag * 256 + 0.5))
        lags = max(lags, int(maxlag + 0.999) + _LAG_MARGIN)
        ax = pos[plus][0] - pos[minus][0]
        ay = pos[plus][1] - pos[minus][1]
        axes.append((ax, ay))
    fe.lags = lags
    fe._atan_tab = _ATAN_Q8
    nbits = dsp.bitlen(n - 1)  # ceil(log2 n)
    fe._cbits = (29 - nbits) // 2  # correlator input bits B: n 2^(2B+2) <= 2^31
    fe._ca = zeros("H", n)
    fe._cb = zeros("H", n)
    fe._xc = zeros("i", 2 * lags + 3)  # r, offset, peak gain
    fe._xc[2 * lags + 1] = 1 << fe._cbits
    # the running level of the voiced frames (from 0 dBFS, so not a noisy
    # room at first), then per pair its last correlated frame, averaged with
    # the next one in noisy rooms (docs/frontend.md, "Two frames"): r(k),
    # energy Ea + Eb and block shift, from 1 + (2 lags + 3) p
    fe._prev = zeros("i", (2 * lags + 3) * fe.pairs + 1)
    # one-pair direction: the pair axis angle; two pairs: u ~ inverse(A) lags
    fe._axis_q8 = [dsp.atan2_q8(int(ay * 1e6), int(ax * 1e6), fe._atan_tab) for ax, ay in axes]
    # listening at the talkers' lags (FrontEnd.listen_at, hear)
    fe._listen = zeros("i", 2 * fe.pairs)  # each talker's lag at each pair (q8), talker-major
    fe._listening = False
    fe.heard_q8 = zeros("i", 2)  # FrontEnd.hear's result
    fe._heard_prev = zeros("i", len(fe._prev))  # the last voiced frame's r(k), energy and shift
    fe._heard_at = -2  # the frame they are from
    fe._inv = None
    if len(axes) == 2:
        (a00, a01), (a10, a11) = axes
        det = a00 * a11 - a01 * a10
        if abs(det) > 1e-9:
            inv = (a11 / det, -a01 / det, -a10 / det, a00 / det)
            big = max(abs(v) for v in inv)
            fe._inv = tuple(int(round(v / big * 4096)) for v in inv)

    fe._db_tab = _DB_Q8
    # level = db20(sumabs) - db20(n * 32768) + 1.96 dB
    fe._lvl_off_q8 = dsp.db20_q8(n << 15, fe._db_tab) - _RMS_CORR_Q8
    fe._db_n_q8 = dsp.db20_q8(n, fe._db_tab)
    fps_num = 1000  # frames per second = 1000 / frame_ms
    fm = fe.frame_ms
    fe._warm_frames = (warmup_ms + fm - 1) // fm
    fe._hang_frames = (_HANG_MS + fm - 1) // fm
    fe._dead_frames = (_DEAD_MS + fm - 1) // fm
    fe._fps = fps_num // fm
    fe._rise_q8 = max(1, _RISE_Q8_PER_S * fm // 1000)

    # outputs
    fe.level_db_q8 = array.array("i", [_SILENT_Q8] * chans)
    fe.frame_db_q8 = _SILENT_Q8
    fe.noise_db_q8 = _SILENT_Q8
    fe.speech = False
    fe.voiced = False  # over the threshold in this frame (speech without the hangover)
    fe.vad_conf_q8 = 0
    fe.lag_q8 = zeros("i", fe.pairs)
    fe.lag_conf_q8 = zeros("i", fe.pairs)
    fe.direction_valid = False
    fe.azimuth_deg = 0
    fe.ambiguous = fe.pairs == 1
    fe.clip_count = 0
    fe.dead_mask = 0
    fe.warming_up = True
    fe.click = False
    fe.frames = 0
    fe.correlated_frames = 0
    # state
    fe._dead_count = zeros("i", chans)
    fe._floor_set = False
    fe._hang = 0
    fe._run = 0
