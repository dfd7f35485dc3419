"""What a user could pick instead, run on the same audio as the firmware.

Per 20 ms frame (the firmware's frame, aligned with the scene's truth):

- voice activity: `webrtcvad` in each mode (0-3) on the channel mean;
- direction: a float GCC-PHAT on each microphone pair (numpy, lags solved
  for the azimuth by least squares over the pairs), and pyroomacoustics'
  SRP-PHAT and MUSIC on all microphones (STFT of 256 samples, hop 128: the
  four snapshots inside the 40 ms ending with the frame);
- talk share: each peer's direction stream, with a voice-activity decision
  (ours or webrtcvad's), fed into the SAME firmware talker model, tally and
  session lifecycle (tbfw.session.Conversation, run here on CPython), so a
  difference in share error comes from the direction and voice activity,
  not from the bookkeeping.

The peers have no confidence output: every speech frame with a direction
votes with full weight (conf 256), where the firmware's front end gates its
votes by the pairs' correlation peaks. Library functions return data; the
benchmark (talkbalance.bench.accuracy, talkbalance.bench.report) prints it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from talkbalance.fw import config as fwconfig
from talkbalance.fw import session, talker

FRAME_MS = 20
VAD_MODES = (0, 1, 2, 3)
DOA_METHODS = ("gcc-phat", "srp-phat", "music")
STFT_N = 256
STFT_HOP = 128
FREQ_RANGE_HZ = (300.0, 3500.0)
GRID_STEP_DEG = 4  # SRP/MUSIC search grid (the talker model's bins are 5 degrees)
GCC_NFFT = 1024
GCC_STEP = 1 / 16  # GCC-PHAT lag resolution, samples
_SILENT_Q8 = -30720


def frame_samples(rate: int) -> int:
    return rate * FRAME_MS // 1000


def frame_count(audio: np.ndarray, rate: int) -> int:
    return audio.shape[0] // frame_samples(rate)


# --- voice activity ------------------------------------------------------------

def channel_mean(audio: np.ndarray) -> np.ndarray:
    """The channels' mean as int16 (what a one-microphone VAD would hear)."""
    return np.round(audio.astype(np.float64).mean(axis=1)).astype(np.int16)


def webrtc_vad(audio: np.ndarray, rate: int, mode: int) -> np.ndarray:
    """webrtcvad's decision per frame (bool array), `mode` 0 (lenient) to 3."""
    import webrtcvad

    vad = webrtcvad.Vad(mode)
    hop = frame_samples(rate)
    mono = channel_mean(audio)
    n = len(mono) // hop
    raw = mono[:n * hop].astype("<i2").tobytes()
    step = 2 * hop
    return np.array([vad.is_speech(raw[i * step:(i + 1) * step], rate) for i in range(n)], dtype=bool)


def truth_speech(truth: dict) -> np.ndarray:
    return np.frombuffer(truth["frames"].encode(), dtype=np.uint8) != ord("0")


def codes_speech(codes: str) -> np.ndarray:
    return np.frombuffer(codes.encode(), dtype=np.uint8) != ord("0")


@dataclass
class F1:
    precision: float
    recall: float
    f1: float


def f1_score(pred: np.ndarray, truth: np.ndarray) -> F1:
    """Frame F1 of a speech decision against the truth (arrays cut to the shorter)."""
    n = min(len(pred), len(truth))
    p, t = np.asarray(pred[:n], bool), np.asarray(truth[:n], bool)
    tp = int(np.count_nonzero(p & t))
    said, real = int(np.count_nonzero(p)), int(np.count_nonzero(t))
    precision = tp / said if said else 0.0
    recall = tp / real if real else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return F1(round(precision, 4), round(recall, 4), round(f1, 4))


def levels_q8(audio: np.ndarray, rate: int) -> np.ndarray:
    """Per frame: mean channel level, dBFS * 256 (the tally's heat input)."""
    hop = frame_samples(rate)
    n = audio.shape[0] // hop
    x = audio[:n * hop].astype(np.float64).reshape(n, hop, -1)
    rms = np.sqrt(np.mean(np.square(x), axis=1)) / 32768.0
    db = 20 * np.log10(np.maximum(rms, 1e-6))
    out = np.round(db.mean(axis=1) * 256).astype(int)
    out[rms.max(axis=1) <= 0] = _SILENT_Q8
    return out


# --- direction -----------------------------------------------------------------

def _geometry(board: dict) -> tuple[np.ndarray, list[tuple[int, int]]]:
    pos = {m["channel"]: (float(m["x_m"]), float(m["y_m"])) for m in board["mics"]}
    mics = np.array([pos[ch] for ch in range(board["channels"])])
    pairs = [(int(p["plus"]), int(p["minus"])) for p in board["pairs"]]
    return mics, pairs


def _windows(x: np.ndarray, hop: int, frames: int, length: int) -> np.ndarray:
    """(frames, length): for frame i the `length` samples ending with it (zeros before the start)."""
    pad = np.concatenate([np.zeros(length, dtype=np.float64), x.astype(np.float64)])
    idx = (np.arange(frames)[:, None] + 1) * hop + np.arange(length)[None, :]
    return pad[idx]


def gcc_phat(audio: np.ndarray, board: dict, mask: np.ndarray | None = None) -> np.ndarray:
    """Azimuth per frame in degrees (NaN where not computed) from GCC-PHAT on
    each pair over the 40 ms ending with the frame. Lags (arrival at the
    pair's minus microphone minus its plus one) are found on a 1/16-sample
    grid within the physical range; the direction u solves
    (p_plus - p_minus) . u = c * lag / rate over the pairs (least squares)."""
    rate = int(board["sample_rate_hz"])
    c = float(board["speed_of_sound_m_s"])
    mics, pairs = _geometry(board)
    hop = frame_samples(rate)
    frames = frame_count(audio, rate)
    sel = np.arange(frames) if mask is None else np.flatnonzero(mask[:frames])
    out = np.full(frames, np.nan)
    if sel.size == 0:
        return out
    window = np.hanning(2 * hop)
    axes = np.array([mics[p] - mics[m] for p, m in pairs])  # (pairs, 2)
    max_lag = np.linalg.norm(axes, axis=1).max() * rate / c
    taus = np.arange(-math.ceil(max_lag) - 1, math.ceil(max_lag) + 1 + GCC_STEP / 2, GCC_STEP)
    k = np.arange(GCC_NFFT // 2 + 1)
    steer = np.exp(2j * np.pi * np.outer(k, taus) / GCC_NFFT)  # (bins, taus)
    weight = np.ones(len(k))
    weight[0] = 0.0
    lags = np.zeros((sel.size, len(pairs)))
    spectra = {}
    for ch in {ch for pair in pairs for ch in pair}:
        frames_x = _windows(audio[:, ch], hop, frames, 2 * hop)[sel] * window
        spectra[ch] = np.fft.rfft(frames_x, GCC_NFFT, axis=1)
    for j, (plus, minus) in enumerate(pairs):
        cross = spectra[minus] * np.conj(spectra[plus])
        cross /= np.maximum(np.abs(cross), 1e-12)
        cc = np.real((cross * weight) @ steer)  # (frames, taus)
        limit = np.linalg.norm(axes[j]) * rate / c
        cc[:, np.abs(taus) > limit + 0.5] = -np.inf
        lags[:, j] = taus[np.argmax(cc, axis=1)]
    u, *_ = np.linalg.lstsq(axes, (lags * c / rate).T, rcond=None)  # (2, frames)
    out[sel] = np.degrees(np.arctan2(u[1], u[0])) % 360
    return out


def _stft(audio: np.ndarray) -> np.ndarray:
    """(channels, bins, snapshots): Hann-windowed STFT, STFT_N samples, hop STFT_HOP."""
    n = (audio.shape[0] - STFT_N) // STFT_HOP + 1
    idx = np.arange(n)[:, None] * STFT_HOP + np.arange(STFT_N)[None, :]
    window = np.hanning(STFT_N)
    x = audio.astype(np.float64).T[:, idx] * window  # (channels, n, STFT_N)
    return np.fft.rfft(x, axis=2).transpose(0, 2, 1)


def pra_doa(audio: np.ndarray, board: dict, method: str, mask: np.ndarray | None = None) -> np.ndarray:
    """Azimuth per frame in degrees (NaN where not computed) from
    pyroomacoustics' SRP-PHAT ("srp-phat") or MUSIC ("music") on every
    microphone, over the STFT snapshots inside the 40 ms ending with the frame."""
    import pyroomacoustics as pra

    names = {"srp-phat": "SRP", "music": "MUSIC"}
    rate = int(board["sample_rate_hz"])
    mics, _ = _geometry(board)
    hop = frame_samples(rate)
    frames = frame_count(audio, rate)
    out = np.full(frames, np.nan)
    grid = np.radians(np.arange(0, 360, GRID_STEP_DEG))
    doa = pra.doa.algorithms[names[method]](mics.T, rate, STFT_N, c=float(board["speed_of_sound_m_s"]),
                                            num_src=1, azimuth=grid)
    spec = _stft(audio)
    sel = range(frames) if mask is None else np.flatnonzero(mask[:frames])
    for i in sel:
        end = (i + 1) * hop
        first = max(0, -(-(end - 2 * hop) // STFT_HOP))
        last = (end - STFT_N) // STFT_HOP
        if last < first or last >= spec.shape[2]:
            continue
        doa.locate_sources(spec[:, :, first:last + 1], num_src=1, freq_range=list(FREQ_RANGE_HZ))
        out[i] = math.degrees(float(doa.azimuth_recon[0])) % 360
    return out


def direction(method: str, audio: np.ndarray, board: dict, mask: np.ndarray | None = None) -> np.ndarray:
    if method == "gcc-phat":
        return gcc_phat(audio, board, mask)
    if method in ("srp-phat", "music"):
        return pra_doa(audio, board, method, mask)
    raise ValueError(f"unknown direction method {method!r}")


def timed(fn, *args, **kwargs):
    """(result, CPU seconds) of one call (process time: the machine is shared)."""
    t0 = time.process_time()
    result = fn(*args, **kwargs)
    return result, time.process_time() - t0


# --- the firmware's talker model and tally on a peer's stream -------------------

@dataclass
class Run:
    record: dict
    codes: str  # per frame, as analyze: 0 silence 1 initiator 2 partner 3 both 4 unknown


def conversation(speech: np.ndarray, azimuth: np.ndarray, level_q8: np.ndarray,
                 cfg: dict | None = None, conf_q8: int = 256) -> Run:
    """Feed per-frame speech and azimuth (NaN: no direction) into the firmware's
    Conversation, frame by frame, as the device would; returns its record and
    the per-frame role codes (slots mapped to roles once bound)."""
    cfg = fwconfig.merge_user(cfg or {})
    conv = session.Conversation(cfg, cfg["frame_ms"], "peer", 0)
    n = min(len(speech), len(azimuth), len(level_q8))
    slots = bytearray(n)
    frame_s = cfg["frame_ms"] / 1000
    done = n
    for i in range(n):
        az = azimuth[i]
        valid = bool(speech[i]) and not math.isnan(az)
        slots[i] = conv.frame(bool(speech[i]), valid, int(round(az)) % 360 if valid else 0, conf_q8,
                              int(level_q8[i]), int(i * frame_s))
        if conv.state == session.ENDED:
            done = i + 1
            break
    if conv.state != session.ENDED:
        conv.end_reason = "end_of_recording"
    record = conv.record()
    record["frames_analyzed"] = done
    ini = conv.initiator_slot if conv.initiator_slot >= 0 else 0
    out = bytearray(done)
    for i in range(done):
        code = slots[i]
        if code in (talker.SLOT_A, talker.SLOT_B):
            code = 1 if code - talker.SLOT_A == ini else 2
        out[i] = 48 + code
    return Run(record, out.decode())


# --- latency -------------------------------------------------------------------

@dataclass
class Latency:
    frames: list[int]   # audio frames from each change of speaker to the pipeline showing it
    ms: list[float]     # the same to the ring frame that shows it (25 fps cadence)
    changes: int        # changes of speaker counted
    missed: int         # changes not shown before the new talker's turn ended


def _swapped(record: dict, truth: dict) -> bool:
    """True when the record's initiator sits at the true partner's direction."""
    roles = {t["role"]: t.get("azimuth_deg") for t in record.get("talkers", [])}
    true = {t["role"]: t["azimuth_deg"] for t in truth["talkers"]}
    ini = roles.get("initiator")
    if ini is None:
        return False

    def diff(a, b):
        d = (a - b) % 360
        return 360 - d if d > 180 else d

    return diff(ini, true["partner"]) < diff(ini, true["initiator"])


def latency(codes: str, record: dict, truth: dict, ring_period_ms: int = 40,
            min_turn_s: float = 1.0) -> Latency:
    """Latency from each change of speaker in the truth to the ring showing
    the new talker. A change is a turn (or interruption) of at least
    `min_turn_s` by the other person than the previous turn's; its onset is
    the turn's first speech frame. It is shown at the first frame from there
    that the pipeline attributes to that person (by position: a ring with the
    roles swapped still lights the right talker's LED), drawn at the next
    ring frame. Changes not shown before the turn ends are counted as missed."""
    frame_ms = truth.get("frame_ms", FRAME_MS)
    tframes = truth["frames"]
    swap = _swapped(record, truth)
    want_code = {"initiator": "2" if swap else "1", "partner": "1" if swap else "2"}
    active = {"initiator": "13", "partner": "23"}
    turns = [s for s in truth["segments"] if s[3] in ("turn", "interruption")]
    out = Latency([], [], 0, 0)
    previous = None
    for start, end, role, _kind in turns:
        if previous is None or role == previous or end - start < min_turn_s:
            previous = role if end - start >= min_turn_s else previous
            continue
        previous = role
        first = int(start * 1000 // frame_ms)
        stop = min(int(end * 1000 // frame_ms), len(tframes), len(codes))
        onset = next((f for f in range(first, stop) if tframes[f] in active[role]), None)
        if onset is None:
            continue
        out.changes += 1
        shown = next((f for f in range(onset, stop) if codes[f] == want_code[role]), None)
        if shown is None:
            out.missed += 1
            continue
        out.frames.append(shown - onset + 1)
        ready_ms = (shown + 1) * frame_ms
        drawn_ms = -(-ready_ms // ring_period_ms) * ring_period_ms
        out.ms.append(float(drawn_ms - onset * frame_ms))
    return out


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None
