"""Test signals for the audio front end: noise of several colours, speech-like
bursts with ground truth, exact fractional delays, anechoic far-field
rendering for a board's microphone geometry (talkbalance.boardfile's
positions), and packing into the I2S 32-bit stereo words the firmware ingests.

Everything is float64 in full-scale units (1.0 = 0 dBFS) until packed.
"""

from __future__ import annotations

import math

import numpy as np

from talkbalance import boardfile


def white(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise (power falls 3 dB per octave), unit variance."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    spec /= np.sqrt(f)
    x = np.fft.irfft(spec, n)
    return x / x.std()


def _speech_shape(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with a long-term speech spectrum: flat to ~500 Hz, then falling
    about 6 dB per octave, with a little energy removed below 100 Hz."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    gain = 1.0 / np.sqrt(1.0 + (f / 500.0) ** 2)
    gain *= 1.0 / np.sqrt(1.0 + (100.0 / np.maximum(f, 1.0)) ** 4)
    x = np.fft.irfft(spec * gain, n)
    return x / x.std()


def speech_like(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Continuous speech-like noise: speech spectrum, syllabic (3-6 Hz)
    amplitude modulation with deep dips, unit mean power."""
    x = _speech_shape(n, rate, rng)
    t = np.arange(n) / rate
    rate_hz = rng.uniform(3.0, 6.0)
    phase = rng.uniform(0, 2 * math.pi)
    env = 0.15 + 0.85 * np.abs(np.sin(math.pi * rate_hz * t + phase)) ** 1.5
    y = x * env
    return y / np.sqrt(np.mean(y * y))


def speech_bursts(seconds: float, rate: int, rng: np.random.Generator,
                  burst_s: tuple[float, float] = (0.6, 2.5),
                  gap_s: tuple[float, float] = (0.5, 2.0),
                  lead_s: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Speech-like bursts separated by silence; returns (signal, active) where
    `active` is a boolean per sample. Mean power over the active samples is 1.
    The first `lead_s` seconds are silent (time for a noise floor to settle)."""
    n = int(seconds * rate)
    sig = np.zeros(n)
    act = np.zeros(n, dtype=bool)
    pos = int(lead_s * rate)
    while pos < n:
        length = int(rng.uniform(*burst_s) * rate)
        end = min(n, pos + length)
        if end - pos > rate // 10:
            sig[pos:end] = speech_like(end - pos, rate, rng)
            act[pos:end] = True
        pos = end + int(rng.uniform(*gap_s) * rate)
    return sig, act


def delay(x: np.ndarray, d: float) -> np.ndarray:
    """x delayed by d samples (any real d), band-limited, by FFT phase shift
    over a zero-padded copy (no wrap-around for |d| well under the pad)."""
    n = x.size
    pad = n + 64 + 2 * int(abs(d) + 1)
    spec = np.fft.rfft(x, pad)
    k = np.arange(spec.size)
    spec *= np.exp(-2j * math.pi * k * d / pad)
    return np.fft.irfft(spec, pad)[:n]


def diffuse_coherence(positions: np.ndarray, freqs_hz: np.ndarray, speed_m_s: float = 343.0) -> np.ndarray:
    """Coherence of a spherically diffuse field between microphones at
    `positions` ((channels, 2 or 3), metres): sinc(2 f d / c) for spacing d,
    as a (len(freqs_hz), channels, channels) real matrix per frequency."""
    pos = np.asarray(positions, dtype=float)
    spacing = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    return np.sinc(2.0 * np.asarray(freqs_hz, dtype=float)[:, None, None] * spacing[None] / speed_m_s)


def diffuse_mix(sources: np.ndarray, positions: np.ndarray, rate: int, speed_m_s: float = 343.0,
                frame: int = 1024, chunk_frames: int = 256) -> np.ndarray:
    """Spherically diffuse noise from independent signals, one per microphone.

    Each signal's short-time spectrum (`frame` samples, sqrt-Hann windows, 50%
    overlap) is mixed per frequency bin by A(f), the symmetric square root of
    the diffuse coherence matrix (A A^T = coherence; from its
    eigen-decomposition, the tiny negative eigenvalues of the nearly singular
    low-frequency matrices set to 0), then overlap-added
    back. Signals of equal spectra keep it; between microphones the result
    has the coherence sinc(2 f d / c). `sources` is (channels, n); the result
    is float32 of the same shape. Works in chunks of `chunk_frames` frames.
    """
    src = np.asarray(sources)
    channels, n = src.shape
    hop = frame // 2
    gamma = diffuse_coherence(positions, np.fft.rfftfreq(frame, 1.0 / rate), speed_m_s)
    eigval, eigvec = np.linalg.eigh(gamma)
    # the symmetric square root V sqrt(L) V^T: unique, so it changes smoothly
    # from bin to bin (a per-bin Cholesky or V sqrt(L) factor can flip signs
    # and turn within repeated eigenvalues, smearing each frame in time)
    mixing = np.einsum("fab,fb,fcb->fac", eigvec, np.sqrt(np.clip(eigval, 0.0, None)), eigvec)  # (bins, out, in)
    window = np.sqrt(np.hanning(frame + 1)[:frame])          # periodic: squares overlap-add to 1
    frames = (n + hop - 1) // hop + 1
    padded = np.zeros((channels, (frames + 1) * hop), dtype=np.float32)
    padded[:, hop:hop + n] = src
    out = np.zeros_like(padded)
    for first in range(0, frames, chunk_frames):
        count = min(chunk_frames, frames - first)
        starts = (first + np.arange(count)) * hop
        idx = starts[:, None] + np.arange(frame)[None, :]
        spec = np.fft.rfft(padded[:, idx] * window, axis=-1)  # float64 in each chunk            # (in, frames, bins)
        mixed = np.einsum("fab,bkf->akf", mixing, spec)
        pieces = np.fft.irfft(mixed, frame, axis=-1) * window           # (out, frames, frame)
        for k in range(count):
            out[:, starts[k]:starts[k] + frame] += pieces[:, k]
    return out[:, hop:hop + n]


def far_field_delays(desc: dict, azimuth_deg: float) -> np.ndarray:
    """Arrival time of a far-field plane wave from `azimuth_deg` at each
    microphone, in samples, relative to the array origin (earlier = smaller)."""
    u = np.array([math.cos(math.radians(azimuth_deg)), math.sin(math.radians(azimuth_deg))])
    rate = desc["sample_rate_hz"]
    return -(np.asarray(boardfile.mic_positions(desc)) @ u) * rate / desc["speed_of_sound_m_s"]


def render_far_field(src: np.ndarray, desc: dict, azimuth_deg: float) -> np.ndarray:
    """Anechoic rendering of a far source: (channels, n), each microphone
    hearing `src` delayed by its arrival time."""
    return np.stack([delay(src, d) for d in far_field_delays(desc, azimuth_deg)])


def to_int16(x: np.ndarray, scale: float) -> np.ndarray:
    """Float full-scale signal times `scale`, rounded and saturated to int16."""
    return np.clip(np.round(x * scale * 32768.0), -32768, 32767).astype(np.int16)


def i2s_words(left: np.ndarray, right: np.ndarray) -> bytes:
    """Two channels of 24-bit samples (ints, -2^23..2^23-1) as machine.I2S
    STEREO bits=32 reads them: little-endian int32 [L0, R0, ...], the sample
    in bits 31..8 (INMP441 layout)."""
    words = np.empty(2 * left.size, dtype="<i4")
    words[0::2] = left.astype(np.int64) << 8
    words[1::2] = right.astype(np.int64) << 8
    return words.tobytes()


def square(n: int, period: int) -> np.ndarray:
    """Full-scale square wave in int16 units: +32767 / -32768."""
    return np.where((np.arange(n) // (period // 2)) % 2 == 0, 32767, -32768).astype(np.int16)
