"""Speech sources for simulated conversations.

Two kinds of voice, both deterministic for a given random generator:

- `EspeakVoice`: the `espeak-ng` text-to-speech engine (when its binary is
  installed) speaking generated sentences, resampled to the scene's rate;
- `SyntheticVoice`: a built-in speech-like generator: a glottal pulse train
  with a pitch contour (phrase declination, accents, occasional question
  rise), shaped by vowel formants, in syllables with unvoiced noise onsets
  (fricatives, stop bursts), words, phrases and pauses.

Every voice gives utterances (`utterance(rng, seconds, heated)`) and short
listener responses (`backchannel(rng)`) as float arrays at one common
nominal level: the RMS over the voiced parts is about `NOMINAL_RMS`.
Gaps between phrases are longer than 100 ms; gaps inside a phrase shorter.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from math import gcd

import numpy as np
from scipy import signal

from talkbalance.errors import InputError, ToolMissing

NOMINAL_RMS = 0.1          # RMS of speech over its voiced parts, full scale 1.0
VOICE_KINDS = ("auto", "espeak", "synthetic")

# Pause between phrases of one utterance, seconds (longer than the 100 ms
# that still counts as speech in the ground truth).
_PHRASE_PAUSE_S = (0.18, 0.55)


def espeak_binary() -> str | None:
    """Path of the espeak-ng binary, or None when it is not installed."""
    return shutil.which("espeak-ng")


def pick_voices(kind: str, rng: np.random.Generator, rate: int) -> tuple[Voice, Voice]:
    """Two distinct voices (initiator, partner) of the requested kind.

    `kind` is "espeak", "synthetic" or "auto" (espeak-ng where installed).
    """
    if kind not in VOICE_KINDS:
        raise InputError(f"unknown voice kind {kind!r}", "use one of: " + ", ".join(VOICE_KINDS))
    binary = espeak_binary()
    if kind == "espeak" and binary is None:
        raise ToolMissing("espeak-ng is not installed",
                          "install it (apt-get install espeak-ng) or use --voices synthetic")
    if kind == "synthetic" or binary is None:
        return _pick_synthetic(rng, rate)
    return _pick_espeak(rng, rate, binary)


# --- synthetic voice ------------------------------------------------------

# Vowel formants (F1, F2, F3) in Hz for an adult male voice (Peterson and
# Barney averages); a female voice scales them by about 1.15.
_VOWELS = np.array([
    (270, 2290, 3010), (390, 1990, 2550), (530, 1840, 2480), (660, 1720, 2410),
    (730, 1090, 2440), (570, 840, 2410), (440, 1020, 2240), (300, 870, 2240),
    (640, 1190, 2390), (490, 1350, 1690),
], dtype=float)
_VOWEL_BW = (80.0, 100.0, 140.0, 200.0)   # formant bandwidths, Hz
_NASAL = (260.0, 1100.0, 2350.0)           # murmur of /m/, /n/

# Unvoiced onsets: (kind, low Hz, high Hz, seconds low, seconds high)
_ONSETS = (
    ("s", 3800.0, 7400.0, 0.06, 0.12),
    ("sh", 1800.0, 4200.0, 0.06, 0.11),
    ("f", 1200.0, 7400.0, 0.05, 0.10),
    ("h", 400.0, 3500.0, 0.04, 0.08),
    ("t", 2500.0, 7400.0, 0.015, 0.03),
    ("k", 1200.0, 3500.0, 0.02, 0.035),
    ("p", 300.0, 2500.0, 0.01, 0.025),
)


@dataclass
class SyntheticVoice:
    """A speech-like generator with its own pitch, formant scale and tempo."""

    name: str
    rate: int
    f0_hz: float            # typical pitch
    formant_scale: float    # 1.0 male-like, ~1.15 female-like
    syllable_s: float       # mean syllable length
    _filters: dict = field(default_factory=dict)   # noise band filters by onset kind

    def utterance(self, rng: np.random.Generator, seconds: float, heated: bool = False) -> np.ndarray:
        """Phrases separated by pauses, about `seconds` long (ends on a phrase)."""
        f0 = self.f0_hz * (1.15 if heated else 1.0)
        syl = self.syllable_s * (0.9 if heated else 1.0)
        parts: list[np.ndarray] = []
        total = 0
        want = int(seconds * self.rate)
        while total < want:
            if parts:
                pause = np.zeros(int(rng.uniform(*_PHRASE_PAUSE_S) * self.rate))
                parts.append(pause)
                total += len(pause)
            left_s = (want - total) / self.rate
            phrase_s = min(max(0.5, rng.uniform(0.9, 3.2)), max(0.5, left_s))
            phrase = self._phrase(rng, phrase_s, f0, syl)
            parts.append(phrase)
            total += len(phrase)
        return np.concatenate(parts) if parts else np.zeros(0)

    def backchannel(self, rng: np.random.Generator) -> np.ndarray:
        """A short "mm-hm", "yeah" or "okay": one or two syllables."""
        f0 = self.f0_hz * rng.uniform(0.9, 1.1)
        if rng.random() < 0.5:  # mm-hm: nasal murmur, then an aspirated nasal, rising
            first = self._voiced(rng, rng.uniform(0.14, 0.24), f0 * 1.05, f0 * 0.95, _NASAL, 0.6)
            gap = np.zeros(int(rng.uniform(0.04, 0.08) * self.rate))
            breath = self._noise(rng, "h", rng.uniform(0.03, 0.05)) * 0.25
            second = self._voiced(rng, rng.uniform(0.16, 0.28), f0 * 0.95, f0 * 1.25, _NASAL, 0.6)
            return np.concatenate([first, gap, breath, second])
        syllables = 1 + int(rng.random() < 0.5)
        return self._phrase(rng, syllables * self.syllable_s * 1.2, f0, self.syllable_s * 1.2)

    # -- pieces

    def _phrase(self, rng: np.random.Generator, seconds: float, f0: float, syl: float) -> np.ndarray:
        count = max(1, int(round(seconds / syl)))
        start, end = f0 * rng.uniform(1.08, 1.25), f0 * rng.uniform(0.8, 0.9)
        if rng.random() < 0.2:              # question: rise at the end
            end = f0 * rng.uniform(1.2, 1.4)
        pieces = []
        left_in_word = 0
        for i in range(count):
            if left_in_word == 0:          # word boundary: short gap (< 100 ms)
                if i:
                    pieces.append(np.zeros(int(rng.uniform(0.0, 0.06) * self.rate)))
                left_in_word = int(rng.integers(1, 4))
            left_in_word -= 1
            frac0, frac1 = i / count, (i + 1) / count
            p0 = start + (end - start) * frac0
            p1 = start + (end - start) * frac1
            if rng.random() < 0.3:          # accent: a pitch bump
                bump = rng.uniform(1.1, 1.3)
                p0, p1 = p0 * bump, p1 * (1 + (bump - 1) / 2)
            pieces.append(self._syllable(rng, syl * rng.uniform(0.7, 1.35), p0, p1))
        return np.concatenate(pieces)

    def _syllable(self, rng: np.random.Generator, seconds: float, f0_start: float, f0_end: float) -> np.ndarray:
        parts = []
        vowel_s = seconds
        if rng.random() < 0.65:
            kind = _ONSETS[int(rng.integers(len(_ONSETS)))]
            dur = rng.uniform(kind[3], kind[4])
            if kind[0] in ("t", "k", "p"):  # stop: closure silence, then a burst
                parts.append(np.zeros(int(rng.uniform(0.02, 0.05) * self.rate)))
            parts.append(self._noise(rng, kind[0], dur) * rng.uniform(0.2, 0.4))
            vowel_s = max(0.06, seconds - dur)
        formants = tuple(_VOWELS[int(rng.integers(len(_VOWELS)))])
        stress = rng.uniform(0.6, 1.0)
        coda = rng.random() < 0.3
        nucleus_s = vowel_s * (0.75 if coda else 1.0)
        parts.append(self._voiced(rng, nucleus_s, f0_start, f0_end, formants, stress))
        if coda:
            parts.append(self._voiced(rng, vowel_s - nucleus_s, f0_end, f0_end * 0.97, _NASAL, stress * 0.5))
        return np.concatenate(parts)

    def _voiced(self, rng: np.random.Generator, seconds: float, f0_start: float, f0_end: float,
                formants: tuple, level: float) -> np.ndarray:
        n = max(8, int(seconds * self.rate))
        f0 = np.linspace(f0_start, f0_end, n) * (1 + 0.01 * rng.standard_normal())
        phase = np.cumsum(f0 / self.rate) + rng.random()
        pulses = np.zeros(n)
        pulses[1:][np.diff(np.floor(phase)) > 0] = 1.0
        source = signal.lfilter([1.0], [1.0, -1.84, 0.8464], pulses)  # glottal tilt, two poles at 0.92
        source += 0.03 * rng.standard_normal(n)                      # breathiness
        sos = self._resonators(formants)
        out = signal.sosfilt(sos, source)
        out = np.diff(out, prepend=0.0)                               # lip radiation
        out *= _envelope(n, self.rate, 0.025, 0.035)
        rms = np.sqrt(np.mean(out ** 2)) or 1.0
        return out * (NOMINAL_RMS * level / rms)

    def _resonators(self, formants: tuple) -> np.ndarray:
        nyquist = self.rate / 2
        freqs = [f * self.formant_scale for f in formants] + [3500.0 * self.formant_scale]
        sections = []
        for freq, bw in zip(freqs, _VOWEL_BW):
            if freq >= 0.9 * nyquist:
                continue
            r = np.exp(-np.pi * bw / self.rate)
            a1, a2 = -2 * r * np.cos(2 * np.pi * freq / self.rate), r * r
            sections.append([1.0 + a1 + a2, 0.0, 0.0, 1.0, a1, a2])   # unity gain at DC
        return np.array(sections)

    def _noise(self, rng: np.random.Generator, kind: str, seconds: float) -> np.ndarray:
        sos = self._filters.get(kind)
        if sos is None:
            spec = next(o for o in _ONSETS if o[0] == kind)
            nyquist = self.rate / 2
            high = min(spec[2] * self.formant_scale, 0.95 * nyquist)
            low = min(spec[1] * self.formant_scale, high / 2)
            sos = self._filters[kind] = signal.butter(2, [low / nyquist, high / nyquist], btype="band", output="sos")
        n = max(8, int(seconds * self.rate))
        out = np.asarray(signal.sosfilt(sos, rng.standard_normal(n))) * _envelope(n, self.rate, 0.008, 0.015)
        rms = np.sqrt(np.mean(out ** 2)) or 1.0
        return out * (NOMINAL_RMS / rms)


def _envelope(n: int, rate: int, attack_s: float, release_s: float) -> np.ndarray:
    env = np.ones(n)
    a = min(n // 2, max(1, int(attack_s * rate)))
    r = min(n // 2, max(1, int(release_s * rate)))
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    env[n - r:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(r) / r)
    return env


def _pick_synthetic(rng: np.random.Generator, rate: int) -> tuple[Voice, Voice]:
    low = SyntheticVoice("", rate, rng.uniform(95, 130), rng.uniform(0.97, 1.03), rng.uniform(0.17, 0.21))
    high = SyntheticVoice("", rate, rng.uniform(185, 230), rng.uniform(1.12, 1.18), rng.uniform(0.16, 0.2))
    pair = [low, high] if rng.random() < 0.5 else [high, low]
    for voice in pair:
        voice.name = f"synthetic:f0={voice.f0_hz:.0f}Hz"
    return pair[0], pair[1]


# --- espeak-ng voice --------------------------------------------------------

# Voice variants, low-pitched and high-pitched; each talker gets one of each
# family, so the two talkers sound different.
_ESPEAK_LOW = ("en-us+m1", "en-us+m3", "en-gb+m2", "en-us+m7", "en-gb+m4")
_ESPEAK_HIGH = ("en-us+f2", "en-us+f3", "en-gb+f1", "en-us+f4", "en-gb+f5")

# Sentence material for a one-to-one conversation (the words matter only for
# their sound; the generator strings fragments together).
_OPENERS = (
    "I wanted to talk about", "can you tell me more about", "I keep thinking about",
    "what I heard was", "it seems to me that", "I am not sure about", "the thing is",
    "when we spoke last time about", "help me understand", "I noticed that",
    "honestly", "from where I stand", "you know", "let me explain", "so",
    "to be fair", "I remember", "what bothers me is", "the way I see it",
)
_MIDDLES = (
    "what happened at the meeting", "the way you said it", "how we split the work",
    "the last few weeks", "the decision about the budget", "why it matters to you",
    "what you expected from me", "the email on friday", "how the team reacted",
    "the plan we agreed on", "how it made you feel", "the deadline", "our families",
    "the money", "what the others think", "the promise I made", "your point of view",
    "the project in the spring", "the school", "the house and the garden",
)
_CLOSERS = (
    "and I did not expect that", "and that was hard for me", "but I may be wrong",
    "because it keeps coming back", "and I want to get it right", "if that makes sense",
    "and I think we both felt it", "but we never talked about it", "and that is fine",
    "and I still do not understand why", "so I stayed quiet", "and then it got worse",
)
_LOOKAHEAD = 12          # phrases searched for the one that best ends an utterance
_BACKCHANNELS = ("[[m'm@m]].", "Hmm.", "Uh huh.", "Yeah.", "Right.", "Okay.", "I see.", "Sure.", "True.")


def _sentence(rng: np.random.Generator) -> str:
    words = [_OPENERS[int(rng.integers(len(_OPENERS)))], _MIDDLES[int(rng.integers(len(_MIDDLES)))]]
    if rng.random() < 0.6:
        words.append(", " + _CLOSERS[int(rng.integers(len(_CLOSERS)))])
    text = " ".join(words).replace(" ,", ",")
    return text[0].upper() + text[1:] + ("?" if rng.random() < 0.25 else ".")


@dataclass
class EspeakVoice:
    """espeak-ng speaking generated sentences, split into phrases at its pauses."""

    name: str
    rate: int
    binary: str
    variant: str
    speed_wpm: int
    pitch: int
    _pools: dict = field(default_factory=dict)
    _backchannels: list = field(default_factory=list)

    def utterance(self, rng: np.random.Generator, seconds: float, heated: bool = False) -> np.ndarray:
        """Consecutive phrases with pauses, as close to `seconds` as phrases allow."""
        pool = self._pools.setdefault(heated, [])
        parts: list[np.ndarray] = []
        total = 0
        want = int(seconds * self.rate)
        while True:
            while len(pool) < _LOOKAHEAD:
                text = " ".join(_sentence(rng) for _ in range(12))
                speed, pitch = (self.speed_wpm + 25, min(99, self.pitch + 12)) if heated else (self.speed_wpm, self.pitch)
                pool.extend(_phrases(self._render(text, speed, pitch), self.rate))
            pause = np.zeros(int(rng.uniform(*_PHRASE_PAUSE_S) * self.rate)) if parts else np.zeros(0)
            left = want - total - len(pause)
            if left <= 0:
                break
            pick = 0
            if len(pool[0]) > left:    # the next phrase overshoots: the best fitting one ends the utterance
                pick = min(range(len(pool)), key=lambda k: abs(len(pool[k]) - left))
                if parts and abs(len(pool[pick]) - left) >= left:
                    break
            phrase = pool.pop(pick)
            parts += [pause, phrase]
            total += len(pause) + len(phrase)
            if pick:
                break
        return np.concatenate(parts) if parts else np.zeros(0)

    def backchannel(self, rng: np.random.Generator) -> np.ndarray:
        if not self._backchannels:
            for text in _BACKCHANNELS:
                audio = _phrases(self._render(text, self.speed_wpm, self.pitch), self.rate, join=True)
                self._backchannels.extend(audio)
        return self._backchannels[int(rng.integers(len(self._backchannels)))].copy()

    def _render(self, text: str, speed: int, pitch: int) -> np.ndarray:
        cmd = [self.binary, "-v", self.variant, "-s", str(speed), "-p", str(pitch), "-z", "--stdout", "--stdin"]
        try:
            done = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=60, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ToolMissing(f"espeak-ng failed: {exc}", "use --voices synthetic") from None
        pcm, src_rate = _wav_payload(done.stdout)
        audio = pcm.astype(np.float64) / 32768.0
        g = gcd(self.rate, src_rate)
        return signal.resample_poly(audio, self.rate // g, src_rate // g)


def _wav_payload(data: bytes) -> tuple[np.ndarray, int]:
    """Mono 16-bit samples and rate from espeak-ng's streamed WAV (its size
    fields are not filled in, so the data runs to the end)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ToolMissing("espeak-ng did not write a WAV stream", "use --voices synthetic")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if tag == b"fmt ":
            rate = int.from_bytes(data[pos + 12:pos + 16], "little")
        if tag == b"data":
            body = data[pos + 8:]
            return np.frombuffer(body[:len(body) // 2 * 2], dtype="<i2"), rate
        pos += 8 + size + (size & 1)
    raise ToolMissing("espeak-ng's WAV stream has no data", "use --voices synthetic")


def _phrases(audio: np.ndarray, rate: int, join: bool = False) -> list[np.ndarray]:
    """Cut speech at its pauses (>= 150 ms of near silence) into phrases,
    each normalised to the nominal level; `join` keeps it as one piece."""
    hop = rate // 100
    n = len(audio) // hop
    if n == 0:
        return []
    power = np.mean(audio[:n * hop].reshape(n, hop) ** 2, axis=1)
    loud = power > np.max(power) * 10 ** (-50 / 10)
    idx = np.flatnonzero(loud)
    if idx.size == 0:
        return []
    runs = []
    start = prev = idx[0]
    for i in idx[1:]:
        if join or i - prev <= 15:
            prev = i
            continue
        runs.append((start, prev))
        start = prev = i
    runs.append((start, prev))
    out = []
    for a, b in runs:
        piece = audio[max(0, a - 2) * hop:min(n, b + 3) * hop].copy()
        active = power[a:b + 1]
        level = np.sqrt(np.mean(active[active > np.max(active) * 10 ** (-30 / 10)]))
        if level > 0 and len(piece) > hop * 5:
            piece *= NOMINAL_RMS / level
            piece *= _envelope(len(piece), rate, 0.005, 0.01)
            out.append(piece)
    return out


def _pick_espeak(rng: np.random.Generator, rate: int, binary: str) -> tuple[Voice, Voice]:
    low = EspeakVoice("", rate, binary, _ESPEAK_LOW[int(rng.integers(len(_ESPEAK_LOW)))],
                      int(rng.integers(150, 181)), int(rng.integers(30, 51)))
    high = EspeakVoice("", rate, binary, _ESPEAK_HIGH[int(rng.integers(len(_ESPEAK_HIGH)))],
                       int(rng.integers(150, 181)), int(rng.integers(45, 66)))
    pair = [low, high] if rng.random() < 0.5 else [high, low]
    for voice in pair:
        voice.name = f"espeak:{voice.variant}"
    return pair[0], pair[1]


Voice = SyntheticVoice | EspeakVoice
