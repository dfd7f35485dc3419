"""Background noise for simulated scenes: what each noise type is made of,
and the dry signals of its parts.

A noise type (`KINDS`) is a list of parts, each with its share of the noise
power. A diffuse part (`pink`, `babble`) is one independent signal per
microphone, made spherically diffuse by `signals.diffuse_mix` (coherence
sinc(2 f d / c) between microphones d apart). A point part (`fan`, `tv`) is
one dry signal that the scene plays from a place in the room through its
impulse responses, like the talkers (`music` is a loudspeaker playing
music, with no voice in it). `pink-fan`, the noise of the first
scenes, is rendered by `scene` itself and kept as it was.

Everything here is deterministic for a given random generator.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from talkbalance import speech

LEGACY = "pink-fan"
DIFFUSE_PARTS = ("pink", "babble")
POINT_PARTS = ("fan", "tv", "music")

# noise type -> ((part, share of the noise power), ...)
KINDS: dict[str, tuple[tuple[str, float], ...]] = {
    LEGACY: (("pink-independent", 0.5), ("fan", 0.5)),
    "diffuse-pink": (("pink", 1.0),),
    "babble": (("babble", 1.0),),
    "fan": (("fan", 1.0),),
    "tv": (("tv", 1.0),),
    "music": (("music", 1.0),),
    "mixed": (("pink", 0.4), ("babble", 0.3), ("fan", 0.15), ("tv", 0.15)),
}

BABBLE_VOICES = 8              # distant talkers summed into each independent babble signal
BABBLE_CLIP_S = (14.0, 26.0)   # each distant talker's clip, repeated (lengths differ: no common period)
TV_PROGRAMME_S = 60.0          # the TV's programme, repeated
TV_MUSIC_DB = -12.0            # music bed under the TV's speech
SPEAKER_BAND_HZ = (150.0, 7000.0)   # a TV's or a small music speaker's band


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink noise (-3 dB/octave within 1 dB, Paul Kellet's economy filter), float32."""
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return np.asarray(signal.lfilter(b, a, rng.standard_normal(n)), dtype=np.float32)


def unit_power(x: np.ndarray) -> np.ndarray:
    """`x` scaled to mean power 1 (mean over all its samples), float32."""
    power = float(np.mean(np.square(x, dtype=np.float64)))
    return (x / np.float32(math.sqrt(power) if power > 0 else 1.0)).astype(np.float32)


def fan(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """A steady fan: low-frequency broadband noise (60-1800 Hz), a blade-pass
    hum of 80-140 Hz with two harmonics, and a slow 10% swell."""
    nyquist = rate / 2
    sos = signal.butter(2, [60 / nyquist, 1800 / nyquist], btype="band", output="sos")
    broadband = np.asarray(signal.sosfilt(sos, rng.standard_normal(n)))
    x = (broadband / (np.sqrt(np.mean(broadband ** 2)) or 1.0)).astype(np.float32)
    del broadband
    samples = np.arange(n, dtype=np.float64)
    blade = rng.uniform(80.0, 140.0)
    for k, level in ((1, 1.2), (2, 0.6), (3, 0.3)):
        x += np.float32(level * math.sqrt(2)) * np.sin(
            samples * (2 * np.pi * k * blade / rate) + rng.uniform(0, 2 * np.pi)).astype(np.float32)
    x *= (1 + 0.1 * np.sin(samples * (2 * np.pi * rng.uniform(0.3, 1.0) / rate))).astype(np.float32)
    return x


def _tile(clip: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    """`clip` repeated to `n` samples, starting `offset` samples into it."""
    reps = (n + offset) // len(clip) + 1
    return np.tile(clip, reps)[offset:offset + n]


def talk(voice: speech.Voice, rng: np.random.Generator, seconds: float, rate: int,
          turn_s: tuple[float, float], gap_s: tuple[float, float]) -> np.ndarray:
    """One voice talking on and off for `seconds`: utterances with gaps."""
    want = int(seconds * rate)
    parts, total = [], 0
    while total < want:
        utterance = voice.utterance(rng, rng.uniform(*turn_s))
        gap = np.zeros(int(rng.uniform(*gap_s) * rate))
        parts += [utterance, gap]
        total += len(utterance) + len(gap)
    return np.concatenate(parts)[:want].astype(np.float32)


def babble(rng: np.random.Generator, channels: int, n: int, rate: int, voices: str) -> np.ndarray:
    """(channels, n) independent babble signals, each the sum of
    BABBLE_VOICES distant talkers (the scene's voice kind, other voices than
    the talkers') at -3..+3 dB; each talker's clip is repeated, and every
    signal takes its talkers at their own offsets."""
    bank = []
    for _pair in range((BABBLE_VOICES + 1) // 2):
        for voice in speech.pick_voices(voices, rng, rate):
            clip = talk(voice, rng, rng.uniform(*BABBLE_CLIP_S), rate, (1.5, 6.0), (0.2, 1.2))
            bank.append(unit_power(clip))
    out = np.zeros((channels, n), dtype=np.float32)
    for ch in range(channels):
        for clip in bank[:BABBLE_VOICES]:
            gain = np.float32(10 ** (rng.uniform(-3.0, 3.0) / 20))
            out[ch] += gain * _tile(clip, n, int(rng.integers(len(clip))))
    return out


def music(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Music-like: a chord on every beat (harmonic notes, decaying), a bass
    note on every bar and a noise tick on the off-beats, at 90-130 beats per
    minute, chords changing every bar."""
    beat = int(rate * 60.0 / rng.uniform(90.0, 130.0))
    t = np.arange(beat) / rate
    decay = np.exp(-t / 0.25)
    tick = np.zeros(beat)
    tick_len = int(0.03 * rate)
    out = np.zeros(n + beat)
    root = 220.0 * 2 ** (rng.integers(0, 12) / 12)
    scale = (0, 2, 4, 5, 7, 9, 11)
    chord = (0, 2, 4)
    for k, start in enumerate(range(0, n, beat)):
        if k % 4 == 0:
            degree = int(rng.integers(7))
            chord = tuple(scale[(degree + i) % 7] + 12 * ((degree + i) // 7) for i in (0, 2, 4))
        note = np.zeros(beat)
        for semis in chord:
            f0 = root * 2 ** (semis / 12)
            for h in range(1, 5):
                if h * f0 < rate / 2:
                    note += np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi)) / h
        note *= decay
        if k % 4 == 0:
            note += 1.5 * np.sin(2 * np.pi * root / 4 * 2 ** (chord[0] / 12) * t) * np.exp(-t / 0.5)
        tick[:] = 0.0
        tick[beat // 2:beat // 2 + tick_len] = rng.standard_normal(min(tick_len, beat - beat // 2)) * 0.4
        out[start:start + beat] += note + tick
    return unit_power(out[:n])


def tv(rng: np.random.Generator, n: int, rate: int, voices: str) -> np.ndarray:
    """A TV programme: two voices (other than the talkers') taking turns of
    1.5-6 s over a music bed TV_MUSIC_DB below, through a loudspeaker's band;
    a TV_PROGRAMME_S programme, repeated."""
    length = min(n, int(TV_PROGRAMME_S * rate))
    pair = speech.pick_voices(voices, rng, rate)
    dialogue = np.zeros(length, dtype=np.float32)
    pos, who = int(rng.uniform(0.1, 0.5) * rate), 0
    while pos < length:
        utterance = pair[who].utterance(rng, rng.uniform(1.5, 6.0))[:length - pos]
        dialogue[pos:pos + len(utterance)] += utterance
        pos += len(utterance) + int(rng.uniform(0.15, 0.6) * rate)
        who = 1 - who
    programme = unit_power(dialogue) + np.float32(10 ** (TV_MUSIC_DB / 20)) * music(rng, length, rate)
    return _tile(speaker(programme, rate), n)


def music_player(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """A loudspeaker playing music without voices (`music`, through a
    speaker's band); a TV_PROGRAMME_S piece, repeated."""
    return _tile(speaker(music(rng, min(n, int(TV_PROGRAMME_S * rate)), rate), rate), n)


def speaker(x: np.ndarray, rate: int) -> np.ndarray:
    """`x` through a small loudspeaker's band (SPEAKER_BAND_HZ), at unit power."""
    nyquist = rate / 2
    sos = signal.butter(2, [SPEAKER_BAND_HZ[0] / nyquist, min(SPEAKER_BAND_HZ[1], 0.9 * nyquist) / nyquist],
                        btype="band", output="sos")
    return unit_power(signal.sosfilt(sos, x))
