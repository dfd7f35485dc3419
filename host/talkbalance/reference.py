"""Float reference of the audio front end (numpy), and a runner for the real
fixed-point firmware under the MicroPython unix port, both giving the same
per-frame results so tests can compare them.

The reference implements the maths of tbfw.frontend / tbfw.dsp in floating
point, without the fixed-point details (Q15 rounding, block scaling, table
logarithms, integer atan2): DC removal by the same one-pole high-pass, the
same level, click, noise-floor and hangover rules in dB, pre-emphasis and
normalised cross-correlation over the same window, the cosine peak fit and
the same lag-to-azimuth solution.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from talkbalance import paths
from talkbalance.errors import TalkbalanceError

WARMUP_MS = 300
SILENT_DB = -120.0
RMS_CORR_DB = 20 * math.log10(math.sqrt(math.pi / 2))
VAD_ON_DB = 4.0
HANG_MS = 160
FALL = 0.25
RISE_DB_PER_S = 1.0
CLICK_DB = 30.0
DEAD_REL_DB = 40.0
DEAD_ABS_DB = -70.0
DEAD_MS = 1000
MIN_LAG_CONF = 90 / 256
TALK_AVG = 1 / 64  # speech level: running mean of the voiced frames' levels
AVG_SNR_DB = 9.0  # speech under this over the floor: each frame under ...
AVG_FRAME_DB = 10.0  # ... this over it is correlated over two frames
MIN_AVG_CONF = 70 / 256
LAG_MARGIN = 1
EMPH = 29 / 32
RAIL = 0x7FFF00
DB_PER_BIT = 20 * math.log10(2)


@dataclass
class Frames:
    """Per-frame outputs of a front end run (one entry per frame)."""

    speech: list[bool] = field(default_factory=list)
    vad_conf: list[float] = field(default_factory=list)  # 0..1
    frame_db: list[float] = field(default_factory=list)
    noise_db: list[float] = field(default_factory=list)
    levels_db: list[list[float]] = field(default_factory=list)
    lags: list[list[float]] = field(default_factory=list)  # samples
    lag_conf: list[list[float]] = field(default_factory=list)  # 0..1
    valid: list[bool] = field(default_factory=list)
    azimuth: list[int] = field(default_factory=list)
    ambiguous: list[bool] = field(default_factory=list)
    dead_mask: list[int] = field(default_factory=list)
    clip_count: list[int] = field(default_factory=list)
    warming_up: list[bool] = field(default_factory=list)
    click: list[bool] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.__dict__.items()}


def dc_shift(rate: int) -> int:
    """The DC tracker's 2^k (same choice as tbfw.frontend)."""
    k = 3
    while k < 5 and rate / (6.2832 * (1 << k)) > 100 * 1.414:
        k += 1
    return k


def _bits(v: float) -> int:
    return int(v).bit_length()


class Reference:
    """The front end in floating point; feed int16 frames (channels, n)."""

    def __init__(self, desc: dict, cfg: dict, warmup_ms: int = WARMUP_MS):
        self.rate = desc["sample_rate_hz"]
        self.frame_ms = cfg["frame_ms"]
        self.n = self.rate * self.frame_ms // 1000
        self.channels = desc["channels"]
        self.gain_shift = cfg["gain_shift"]
        self.k = dc_shift(self.rate)
        self.dc = np.zeros(self.channels)
        self.prev_q = np.zeros(self.channels)  # last q of the previous frame
        c = desc["speed_of_sound_m_s"]
        pos = {m["channel"]: (m["x_m"], m["y_m"]) for m in desc["mics"]}
        self.pair_ch = [(p, m) for p, m, _s in desc["pair_lags"]]
        self.maxlag = [s * self.rate / c for _p, _m, s in desc["pair_lags"]]
        self.lags = max(int(m + 0.999) + LAG_MARGIN for m in self.maxlag)
        self.axes = [np.subtract(pos[p], pos[m]) for p, m in self.pair_ch]
        fm = self.frame_ms
        self.warm = (warmup_ms + fm - 1) // fm
        self.hang_frames = (HANG_MS + fm - 1) // fm
        self.dead_frames = (DEAD_MS + fm - 1) // fm
        self.fps = 1000 // fm
        self.rise = RISE_DB_PER_S * fm / 1000
        self.frames = 0
        self.floor: float | None = None
        self.hang = 0
        self.run = 0
        self.dead_count = [0] * self.channels
        self.dead_mask = 0
        self.clips = 0
        self.azimuth = 0
        self.ambiguous = len(self.pair_ch) == 1
        self.talk = 0.0  # running speech level (dBFS); from 0 dBFS, so not a noisy room at first
        self.prev_r: dict[int, tuple[np.ndarray, float]] = {}  # pair -> (r, Ea + Eb) of its last correlated frame
        self.out = Frames()

    # ingest: 24-bit samples (channels, n) -> q (float, Q15 units)
    def ingest24(self, x24: np.ndarray) -> np.ndarray:
        shift = 8 - self.gain_shift
        q = np.empty(x24.shape)
        pole = 1.0 - 1.0 / (1 << self.k)
        for ch in range(self.channels):
            # one-pole high-pass as in dsp.ingest32: y = x - acc / 2^k, acc += y,
            # i.e. acc[i] = pole acc[i-1] + x[i]
            xs = x24[ch].astype(float)
            acc, _ = lfilter([1.0], [1.0, -pole], xs, zi=[pole * self.dc[ch]])
            before = np.concatenate(([self.dc[ch]], acc[:-1]))
            self.dc[ch] = acc[-1]
            q[ch] = (xs - before / (1 << self.k)) / (1 << shift)
        rail = np.abs(x24) >= RAIL
        sat = (np.floor(q) > 32767) | (np.floor(q) < -32768)  # saturation on the Q15 grid
        self.clips += int(np.count_nonzero(rail | sat))
        return np.clip(q, -32768, 32767)

    def process(self, q: np.ndarray) -> None:
        o = self.out
        self.frames += 1
        n = self.n
        levels = []
        crest = 0.0
        for ch in range(self.channels):
            sa = float(np.sum(np.abs(q[ch])))
            if sa >= 1.0:  # under one LSB in the whole frame: digital silence
                lvl = 20 * math.log10(sa / (n * 32768)) + RMS_CORR_DB
                cr = _bits(np.max(np.abs(q[ch]))) * DB_PER_BIT + 20 * math.log10(n) - 20 * math.log10(sa)
                crest = max(crest, cr)
            else:
                lvl = SILENT_DB
            levels.append(lvl)
        loud = max(levels)
        dead = 0
        out = 0
        for ch, lvl in enumerate(levels):
            bad = lvl == SILENT_DB or (loud > DEAD_ABS_DB and lvl < loud - DEAD_REL_DB)
            cnt = self.dead_count[ch]
            if bad:
                out |= 1 << ch
                cnt = min(cnt + 1, self.dead_frames)
            elif cnt > 0:
                cnt -= 1
            self.dead_count[ch] = cnt
            if cnt >= self.dead_frames or (cnt > 0 and (self.dead_mask >> ch) & 1):
                dead |= 1 << ch
        self.dead_mask = dead
        out |= dead  # left out of this frame at once; reported after DEAD_MS
        live = [lv for ch, lv in enumerate(levels) if not (out >> ch) & 1]
        frame = sum(live) / len(live) if live else SILENT_DB
        lags = [0.0] * len(self.pair_ch)
        confs = [0.0] * len(self.pair_ch)
        valid = False
        click = False
        if self.frames <= self.warm:
            speech, vconf, warming = False, 0.0, True
        else:
            warming = False
            click = crest >= CLICK_DB
            if self.floor is None:
                self.floor = frame
            above = frame - self.floor
            cand = above >= VAD_ON_DB and not click and bool(live)
            self.run = self.run + 1 if cand else 0
            if above < 0:
                self.floor += above * FALL
            elif not click:
                rise = self.rise * (1 + self.run // self.fps)
                self.floor = self.floor + rise if rise < above else frame
            if cand:
                self.hang = self.hang_frames
            elif self.hang > 0:
                self.hang -= 1
            speech = cand or self.hang > 0
            vconf = min(1.0, max(0.0, above / (2 * VAD_ON_DB)))
            if cand:
                self.talk += (frame - self.talk) * TALK_AVG
                low = self.talk - self.floor < AVG_SNR_DB and above < AVG_FRAME_DB
                valid = self._direction(q, out, lags, confs, low)
        self.prev_q = q[:, -1].copy()
        o.speech.append(speech)
        o.vad_conf.append(vconf)
        o.frame_db.append(frame)
        o.noise_db.append(self.floor if self.floor is not None else SILENT_DB)
        o.levels_db.append(levels)
        o.lags.append(lags)
        o.lag_conf.append(confs)
        o.valid.append(valid)
        o.azimuth.append(self.azimuth)
        o.ambiguous.append(self.ambiguous)
        o.dead_mask.append(dead)
        o.clip_count.append(self.clips)
        o.warming_up.append(warming)
        o.click.append(click)

    def _direction(self, q, dead, lags, confs, low=False) -> bool:
        usable = []
        present = []
        for p, (plus, minus) in enumerate(self.pair_ch):
            if (dead >> plus) & 1 or (dead >> minus) & 1:
                continue
            present.append(p)
            r, e = correlation(q[plus], q[minus], self.prev_q[plus], self.prev_q[minus], self.lags)
            before = self.prev_r.get(p)
            self.prev_r[p] = (r, e)
            two = low and before is not None and self.run > 1  # the frame before was correlated too
            if two:  # the average of this frame's correlation and the one before's
                r, e = (r + before[0]) / 2, (e + before[1]) / 2
            lag, conf = peak(r, e, self.lags)
            lags[p] = lag
            confs[p] = conf
            if conf >= (MIN_AVG_CONF if two else MIN_LAG_CONF):
                usable.append(p)
        if len(usable) == 2 and len(self.pair_ch) == 2:
            a = np.array(self.axes)
            u = np.linalg.solve(a, np.array(lags))
            az = math.degrees(math.atan2(u[1], u[0]))
            self.ambiguous = False
        elif usable and usable == present:  # one working pair
            p = usable[-1]
            c = max(-1.0, min(1.0, lags[p] / self.maxlag[p]))
            ax = self.axes[p]
            az = math.degrees(math.atan2(ax[1], ax[0])) + math.degrees(math.acos(c))
            self.ambiguous = True
        else:
            return False
        self.azimuth = int(math.floor(az + 0.5)) % 360
        return True


def emphasise(q: np.ndarray, prev: float) -> np.ndarray:
    w = np.empty(q.size)
    w[0] = q[0] - EMPH * prev
    w[1:] = q[1:] - EMPH * q[:-1]
    return w


def correlation(qa, qb, prev_a, prev_b, lags) -> tuple[np.ndarray, float]:
    """One pair's frame: r(k - lags) for k in 0..2 lags, and Ea + Eb."""
    a = emphasise(qa, prev_a)
    b = emphasise(qb, prev_b)
    n = a.size
    m = n - 2 * lags
    r = np.array([np.dot(a[lags:lags + m], b[k:k + m]) for k in range(2 * lags + 1)])
    return r, float(np.dot(a, a)) + float(np.dot(b, b))


def peak(r: np.ndarray, e: float, lags: int) -> tuple[float, float]:
    """Lag (samples) and confidence (0..1) of a correlation r with energy e."""
    k = int(np.argmax(r))
    if k == 0 or k == 2 * lags or e <= 0:
        return float(k - lags), 0.0
    d, gain = cosine_fit(r[k - 1], r[k], r[k + 1])
    conf = max(0.0, min(1.0, 2 * r[k] * gain / e))
    return k - lags + d, conf


def correlate(qa, qb, prev_a, prev_b, lags) -> tuple[float, float]:
    """Lag (samples) and confidence (0..1) of one pair's frame."""
    r, e = correlation(qa, qb, prev_a, prev_b, lags)
    return peak(r, e, lags)


def cosine_fit(ym: float, y0: float, yp: float) -> tuple[float, float]:
    """(d, A / y0) of y = A cos(w (t - d)) through three samples; A / y0 is
    at most sqrt(2) (the firmware's clamp)."""
    if y0 <= 0:
        return 0.0, 1.0
    c = max(-1.0, min(1.0, (ym + yp) / (2 * y0)))
    w = math.acos(c)
    if w < math.radians(0.25):
        return 0.0, 1.0
    s = math.sin(w)
    d = math.atan2(yp - ym, 2 * y0 * s) / w
    t = min(abs(yp - ym) / (2 * s), y0)
    return max(-0.5, min(0.5, d)), math.sqrt(y0 * y0 + t * t) / y0


def run_reference(pcm: np.ndarray, desc: dict, cfg: dict) -> Frames:
    """The reference over a (channels, samples) int16 recording, frame by frame."""
    ref = Reference(desc, cfg)
    n = ref.n
    for f in range(pcm.shape[1] // n):
        x24 = pcm[:, f * n:(f + 1) * n].astype(np.int64) << 8
        ref.process(ref.ingest24(x24))
    return ref.out


# -- the firmware under MicroPython --------------------------------------------

_DRIVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import json
from tbfw import config, frontend
with open(sys.argv[2]) as f:
    spec = json.load(f)
desc = config.validate_board(spec["board"])
fe = frontend.FrontEnd(desc, config.merge_user(spec["config"]))
n = fe.frame_samples
buf = bytearray(n * 2 * fe.channels)
src = open(sys.argv[3], "rb")
out = sys.stdout
while src.readinto(buf) == len(buf):
    fe.ingest_pcm16(buf)
    fe.process()
    out.write("F %d %d %d %d %d %d %d %d %d %d %d" % (
        fe.speech, fe.vad_conf_q8, fe.frame_db_q8, fe.noise_db_q8, fe.direction_valid,
        fe.azimuth_deg, fe.ambiguous, fe.dead_mask, fe.clip_count, fe.warming_up, fe.click))
    for v in fe.level_db_q8:
        out.write(" %d" % v)
    for p in range(fe.pairs):
        out.write(" %d %d" % (fe.lag_q8[p], fe.lag_conf_q8[p]))
    out.write("\n")
"""


def run_firmware(pcm: np.ndarray, desc: dict, cfg: dict, timeout: float = 600) -> Frames:
    """The real firmware front end over a (channels, samples) int16 recording,
    on the MicroPython unix port; results in the reference's units."""
    board = {k: v for k, v in desc.items() if k not in ("channels", "pair_lags")}
    user = {k: v for k, v in cfg.items() if k in ("frame_ms", "gain_shift")}
    chans = pcm.shape[0]
    with tempfile.TemporaryDirectory(prefix="tbfe-") as tmp:
        t = Path(tmp)
        (t / "driver.py").write_text(_DRIVER)
        (t / "spec.json").write_text(json.dumps({"board": board, "config": user}))
        (t / "audio.raw").write_bytes(np.ascontiguousarray(pcm.T).astype("<i2").tobytes())
        cmd = paths.micropython() + [str(t / "driver.py"), str(paths.firmware_dir()),
                                     str(t / "spec.json"), str(t / "audio.raw")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise TalkbalanceError("front end failed under MicroPython:\n" + proc.stdout[-1500:] + proc.stderr[-1500:])
    o = Frames()
    for line in proc.stdout.splitlines():
        if not line.startswith("F "):
            continue
        v = [int(s) for s in line.split()[1:]]
        o.speech.append(bool(v[0]))
        o.vad_conf.append(v[1] / 256)
        o.frame_db.append(v[2] / 256)
        o.noise_db.append(v[3] / 256)
        o.valid.append(bool(v[4]))
        o.azimuth.append(v[5])
        o.ambiguous.append(bool(v[6]))
        o.dead_mask.append(v[7])
        o.clip_count.append(v[8])
        o.warming_up.append(bool(v[9]))
        o.click.append(bool(v[10]))
        o.levels_db.append([x / 256 for x in v[11:11 + chans]])
        rest = v[11 + chans:]
        o.lags.append([rest[i] / 256 for i in range(0, len(rest), 2)])
        o.lag_conf.append([rest[i] / 256 for i in range(1, len(rest), 2)])
    return o
