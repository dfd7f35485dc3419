"""Simulated two-person conversations around the device, with ground truth.

`converse(config, rate)` plans the conversation and renders each talker's dry
speech: alternating turns whose lengths steer the initiator's share of talk
toward the target, response gaps, backchannels by the listener, interruptions
(the next talker starts before the other has finished and takes the floor),
and heated passages (louder, shorter turns, quicker replies, more
interruptions). `render(config, board)` places the two talkers, the noise's
point sources (a fan, a TV) and the device in a shoebox room (pyroomacoustics
image method, absorption from RT60 by inverse Sabine), convolves, adds the
noise type's diffuse parts (see scenenoise) at the requested SNR and a small
gain mismatch per microphone, and returns 16-bit audio in the board's
channel order with the ground-truth record (see docs/scene.md).

Everything is deterministic for a given seed. Separate random streams drive
the conversation, the voices, the room and the noise, so changing the room or
the SNR keeps the same conversation.
"""

from __future__ import annotations

import json
import math
import wave
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import signal

from talkbalance import boardfile, scenenoise, signals, speech
from talkbalance.errors import InputError

SCHEMA = 1
FRAME_MS = 20
ROLES = ("initiator", "partner")

# Ground-truth activity: a frame of a talker's dry signal is speech when its
# RMS is within ACTIVE_DB of the nominal speech level; gaps of up to
# GAP_FILL_S between speech frames (inside words, short stops) count as speech.
ACTIVE_DB = -35.0
GAP_FILL_S = 0.1

TABLE_Z_M = 0.75                  # device on a table
MOUTH_ABOVE_TABLE_M = (0.35, 0.5)  # seated talkers' mouths
MAX_ORDER = 40                    # image-method order bound (speed)
SPEECH_DBFS = -26.0               # speech level at the microphones, active frames
PEAK_LIMIT = 0.89                 # -1 dBFS: the output never clips
MIC_MISMATCH_DB = 1.0             # each microphone's gain within +-1 dB
FAN_SHARE = 0.5                   # fraction of the noise power from the fan
LEAD_S = (0.4, 1.2)               # silence before the first word
MAX_MINUTES = 60                  # rendering holds the whole scene in memory (~60 MB a minute)


@dataclass(frozen=True)
class SceneConfig:
    """What to simulate. Azimuths are in the room (degrees, counter-clockwise
    from the room's +x); the device is rotated by `rotation_deg`, so in the
    device's own frame a talker is at azimuth minus rotation."""

    seed: int = 1
    minutes: float = 1.0
    share: float = 0.3                      # initiator's target share of talk
    initiator_az_deg: float = 90.0
    partner_az_deg: float = 270.0
    distance_m: tuple[float, float] = (1.0, 1.0)
    rotation_deg: float = 0.0
    rt60_s: float = 0.3                     # 0: anechoic
    snr_db: float = 20.0
    heat: int | None = None                 # heated passages; None: one per 5 minutes
    first: str = "initiator"
    voices: str = "auto"                    # espeak, synthetic or auto
    noise: str = scenenoise.LEGACY          # noise type, see scenenoise.KINDS
    noise_az_deg: float | None = None       # a fan's or TV's place: room azimuth ...
    noise_distance_m: float | None = None   # ... and horizontal distance from the device
    quiet_start_s: float = 0.0              # the room's sound alone before the first words

    def noise_placed(self) -> bool:
        """Whether the noise's point source is placed by azimuth and distance
        (otherwise it stands by a wall)."""
        return self.noise_az_deg is not None or self.noise_distance_m is not None

    def heat_count(self) -> int:
        return self.heat if self.heat is not None else int(self.minutes // 5)

    def validate(self) -> None:
        checks = (
            (isinstance(self.seed, int) and self.seed >= 0, "--seed must be a whole number, 0 or more"),
            (0 < self.minutes <= MAX_MINUTES, f"--minutes must be above 0 and at most {MAX_MINUTES}"),
            (0.05 <= self.share <= 0.95, "--share must be between 0.05 and 0.95"),
            (len(self.distance_m) == 2 and all(0.3 <= d <= 3.0 for d in self.distance_m),
             "--distance takes two distances between 0.3 and 3.0 m"),
            (self.rt60_s == 0 or 0.1 <= self.rt60_s <= 1.5, "--rt60 must be 0 (anechoic) or 0.1 to 1.5 s"),
            (-10 <= self.snr_db <= 80, "--snr must be between -10 and 80 dB"),
            (self.heat is None or 0 <= self.heat <= max(1, int(self.minutes)), "--heat must be 0 to one per minute"),
            (self.first in ROLES, "--first must be initiator or partner"),
            (self.voices in speech.VOICE_KINDS, "--voices must be espeak, synthetic or auto"),
            (self.noise in scenenoise.KINDS, "--noise must be one of " + ", ".join(scenenoise.KINDS)),
            (not self.noise_placed() or self.noise in scenenoise.POINT_PARTS,
             "--noise-az and --noise-distance place a point source: use them with --noise fan, tv or music"),
            (self.noise_distance_m is None or 0.3 <= self.noise_distance_m <= 3.0,
             "--noise-distance must be between 0.3 and 3.0 m"),
            (self.quiet_start_s == 0 or 0 < self.quiet_start_s <= self.minutes * 60 - 30,
             "--quiet-start must be 0 or more and leave at least 30 s for the conversation"),
            *((math.isfinite(angle), f"{flag} must be an angle in degrees, not {angle}") for flag, angle in (
                ("--initiator-az", self.initiator_az_deg), ("--partner-az", self.partner_az_deg),
                ("--rotation", self.rotation_deg), ("--noise-az", self.noise_az_deg)) if angle is not None),
        )
        for ok, message in checks:
            if not ok:
                raise InputError(message, "see `talkbalance scene --help`")


def random_config(seed: int, minutes: float = 10.0, voices: str = "auto") -> SceneConfig:
    """A scene drawn from the evaluation ranges: RT60 0.2-0.6 s, SNR 10-30 dB,
    talkers 90-180 degrees apart at 0.7-1.5 m, any rotation, share 20-50%."""
    rng = np.random.default_rng([seed, 0x5CE7E])
    initiator = rng.uniform(0, 360)
    partner = (initiator + rng.choice([-1, 1]) * rng.uniform(90, 180)) % 360
    return SceneConfig(
        seed=seed, minutes=minutes, share=round(float(rng.uniform(0.2, 0.5)), 3),
        initiator_az_deg=round(float(initiator), 1), partner_az_deg=round(float(partner), 1),
        distance_m=(round(float(rng.uniform(0.7, 1.5)), 2), round(float(rng.uniform(0.7, 1.5)), 2)),
        rotation_deg=round(float(rng.uniform(0, 360)), 1), rt60_s=round(float(rng.uniform(0.2, 0.6)), 2),
        snr_db=round(float(rng.uniform(10, 30)), 1), voices=voices,
    )


# --- the conversation ------------------------------------------------------

@dataclass(frozen=True)
class _Style:
    """Turn-taking statistics for calm and heated talk."""

    turn_scale: float        # multiplies the mean turn length
    gap_mean_s: float        # response gap (gamma distributed) ...
    gap_min_s: float         # ... never shorter than this
    interrupt_p: float       # chance that the next turn interrupts
    overlap_s: tuple[float, float]
    backchannel_every_s: float


_CALM = _Style(1.0, 0.6, 0.12, 0.15, (0.2, 1.0), 9.0)
_HEATED = _Style(0.6, 0.25, 0.05, 0.5, (0.4, 2.0), 16.0)
_MEAN_TURN_S = 11.0          # mean turn length (talk seconds) at a 50% share
_STEER_GAIN = 0.6            # fraction of the share deficit a turn makes up
_STEER_RANGE = (0.3, 3.0)    # a turn's planned talk within this factor of the typical
_TURN_SPREAD = 0.35          # log-normal spread of turn lengths around the plan
_MAX_TURN_S = 45.0


def _turn_length(who: int, share: float, style: _Style, talk: list[float], uttered: list[float],
                 left: float, rng: np.random.Generator, last: bool) -> tuple[float, bool]:
    """Seconds of utterance for the next turn of talker `who` (0 initiator;
    0.0: skip the turn), and whether the remaining time holds just one more
    turn after it. `last`: this is the conversation's final turn."""
    target = (share, 1.0 - share)
    other = 1 - who
    base = [2 * _MEAN_TURN_S * target[i] * style.turn_scale for i in range(2)]
    ratio = _active_ratio(uttered[who], talk[who])
    room = max(0.0, left - 0.5) * ratio
    if last:
        # end on target: make up the whole deficit if there is time
        mine = target[who] / target[other] * talk[other] - talk[who]
        return (float(min(mine, room)) / ratio if mine > 0.8 * ratio else 0.0), False
    if 2 * (base[who] + base[other]) / ratio > left:
        # the closing pair: share out the remaining time so that the
        # conversation ends on target
        more = max(0.0, left - 1.5) * ratio
        mine = target[who] * (talk[0] + talk[1] + more) - talk[who]
        return (float(min(mine, more)) / ratio if mine > 0.8 * ratio else 0.0), True
    # talk this turn should add so that the share is on target once the other
    # talker has answered with a turn of typical length; make up part of it
    wanted = target[who] / target[other] * (talk[other] + base[other]) - talk[who]
    wanted = base[who] + _STEER_GAIN * (wanted - base[who])
    wanted = float(np.clip(wanted, _STEER_RANGE[0] * base[who], _STEER_RANGE[1] * base[who]))
    return float(np.clip(wanted / ratio * rng.lognormal(0.0, _TURN_SPREAD), 0.8, _MAX_TURN_S)), False


def _active_ratio(uttered_s: float, talk_s: float) -> float:
    """Talk seconds per second of utterance so far (pauses inside turns)."""
    return min(1.0, max(0.5, talk_s / uttered_s)) if uttered_s > 5 else 0.8


@dataclass
class Conversation:
    """The dry conversation: per-talker speech at nominal level and what was said when."""

    rate: int
    samples: int
    tracks: np.ndarray                    # (2, samples) initiator, partner; nominal level
    heat_gain: np.ndarray                 # (samples,) linear gain of heated passages
    voices: tuple[str, str]
    segments: list[list] = field(default_factory=list)   # [start_s, end_s, role, kind]
    heat: list[list[float]] = field(default_factory=list)
    frames: str = ""


def frame_samples(rate: int) -> int:
    return rate * FRAME_MS // 1000


def activity(track: np.ndarray, rate: int) -> np.ndarray:
    """Per 20 ms frame: is this dry signal speech (see ACTIVE_DB, GAP_FILL_S)."""
    hop = frame_samples(rate)
    count = len(track) // hop
    power = np.mean(np.square(track[:count * hop].reshape(count, hop), dtype=np.float64), axis=1)
    on = power > (speech.NOMINAL_RMS * 10 ** (ACTIVE_DB / 20)) ** 2
    idx = np.flatnonzero(on)
    if idx.size > 1:
        max_gap = int(round(GAP_FILL_S * 1000 / FRAME_MS))
        steps = np.diff(idx)
        for k in np.flatnonzero((steps > 1) & (steps <= max_gap + 1)):
            on[idx[k] + 1:idx[k + 1]] = True
    return on


def frames_code(active_initiator: np.ndarray, active_partner: np.ndarray) -> str:
    """'0' nobody, '1' initiator, '2' partner, '3' both, one per frame."""
    codes = active_initiator.astype(np.uint8) + 2 * active_partner.astype(np.uint8)
    return (codes + ord("0")).astype(np.uint8).tobytes().decode("ascii")


def talk_seconds(frames: str) -> tuple[float, float]:
    """Initiator and partner talk time from a frame string ('3' counts for both)."""
    counts = {c: frames.count(c) for c in "123"}
    step = FRAME_MS / 1000
    return round((counts["1"] + counts["3"]) * step, 3), round((counts["2"] + counts["3"]) * step, 3)


def _heat_episodes(rng: np.random.Generator, count: int, duration: float) -> list[list[float]]:
    if count <= 0:
        return []
    lo, hi = 0.1 * duration, 0.95 * duration
    slot = (hi - lo) / count
    episodes = []
    for i in range(count):
        length = min(rng.uniform(30.0, 75.0), 0.6 * slot)
        start = lo + i * slot + rng.uniform(0, slot - length)
        episodes.append([round(start, 3), round(start + length, 3)])
    return episodes


def _heat_gain(rng: np.random.Generator, episodes: list[list[float]], samples: int, rate: int) -> np.ndarray:
    gain_db = np.zeros(samples, dtype=np.float32)
    for start, end in episodes:
        a, b = int(start * rate), min(samples, int(end * rate))
        ramp = min(int(1.5 * rate), (b - a) // 3)
        shape = np.ones(b - a, dtype=np.float32)
        shape[:ramp] = np.linspace(0, 1, ramp, endpoint=False)
        shape[len(shape) - ramp:] = np.linspace(1, 0, ramp, endpoint=False)
        gain_db[a:b] = np.maximum(gain_db[a:b], shape * rng.uniform(5.0, 8.0))
    return (10 ** (gain_db / 20)).astype(np.float32)


def converse(config: SceneConfig, rate: int = 16000) -> Conversation:
    """Plan the conversation and render each talker's dry speech."""
    config.validate()
    seeds = np.random.SeedSequence([config.seed, 0x7A1C]).spawn(4)
    plan_rng, voice_rng, heat_rng = (np.random.default_rng(s) for s in seeds[:3])
    talker_rngs = [np.random.default_rng(s) for s in seeds[3].spawn(2)]
    voices = speech.pick_voices(config.voices, voice_rng, rate)

    samples = int(round(config.minutes * 60 * rate / frame_samples(rate))) * frame_samples(rate)
    duration = samples / rate
    tracks = np.zeros((2, samples), dtype=np.float32)
    conv = Conversation(rate, samples, tracks, np.ones(0, dtype=np.float32), (voices[0].name, voices[1].name))
    conv.heat = _heat_episodes(heat_rng, config.heat_count(), duration)
    conv.heat_gain = _heat_gain(heat_rng, conv.heat, samples, rate)

    talk = [0.0, 0.0]               # planned talk seconds (activity of each utterance)
    uttered = [0.0, 0.0]             # seconds of utterances, pauses within them included
    busy_until = [0.0, 0.0]          # when each talker's last utterance ends
    hop_s = FRAME_MS / 1000

    def place(who: int, start: float, audio: np.ndarray, kind: str) -> float:
        a = int(round(start * rate))
        b = min(samples, a + len(audio))
        if b <= a:
            return start
        tracks[who, a:b] += audio[:b - a]
        end = b / rate
        talk[who] += float(np.count_nonzero(activity(audio[:b - a], rate))) * hop_s
        busy_until[who] = max(busy_until[who], end)
        conv.segments.append([round(start, 3), round(end, 3), ROLES[who], kind])
        return end

    def in_heat(t: float) -> bool:
        return any(s <= t < e for s, e in conv.heat)

    who = ROLES.index(config.first)
    t = plan_rng.uniform(*LEAD_S) + config.quiet_start_s
    kind = "turn"
    closing = False          # the remaining time holds one more turn at most
    while t < duration - 0.5:
        style = _HEATED if in_heat(t) else _CALM
        other = 1 - who
        last_turn = closing
        length, closing = _turn_length(who, config.share, style, talk, uttered, duration - t,
                                       plan_rng, last_turn)
        if length <= 0:          # nothing left to say: the other talker closes
            if last_turn:
                break
            who = other
            continue
        audio = voices[who].utterance(talker_rngs[who], length, heated=in_heat(t))
        end = place(who, t, audio, kind)
        uttered[who] += len(audio) / rate
        if end >= duration or last_turn:
            break

        # the next turn: a reply after a gap, or an interruption
        turn_s = end - t
        if turn_s > 1.5 and plan_rng.random() < style.interrupt_p:
            overlap = min(plan_rng.uniform(*style.overlap_s), 0.5 * turn_s)
            next_t, next_kind = max(end - overlap, busy_until[other] + 0.3), "interruption"
            if next_t >= end:
                next_kind = "turn"
        else:
            next_t = end + max(style.gap_min_s, plan_rng.gamma(2.0, style.gap_mean_s / 2.0))
            next_kind = "turn"

        # the listener's backchannels during this turn
        window = (max(t + 0.8, busy_until[other] + 0.5), min(end, next_t) - 0.6)
        if window[1] - window[0] > 0.5:
            count = plan_rng.poisson((window[1] - window[0]) / style.backchannel_every_s)
            at = window[0]
            for start in np.sort(plan_rng.uniform(window[0], window[1], count)):
                if start < at:
                    continue
                audio = voices[other].backchannel(talker_rngs[other])
                if start + len(audio) / rate > window[1] + 0.4:
                    continue
                at = place(other, float(start), audio, "backchannel") + 0.8
                uttered[other] += len(audio) / rate
        t, who, kind = next_t, other, next_kind

    conv.segments.sort(key=lambda seg: (seg[0], seg[2]))
    conv.frames = frames_code(activity(tracks[0], rate), activity(tracks[1], rate))
    return conv


# --- the room ----------------------------------------------------------------

@dataclass
class Geometry:
    dims_m: list[float]
    device_m: list[float]
    mics_m: list[list[float]]
    talkers_m: list[list[float]]
    fan_m: list[float]
    max_order: int
    rt60_measured_s: float = 0.0     # T20 of the initiator-to-first-microphone response


def _geometry(config: SceneConfig, mics: list[tuple[float, float]], rng: np.random.Generator) -> Geometry:
    dims = np.array([rng.uniform(4.0, 7.0), rng.uniform(3.5, 6.0), rng.uniform(2.5, 3.2)])
    reach = max(*config.distance_m, config.noise_distance_m or 0.0) + 0.6
    dims[:2] = np.maximum(dims[:2], 2 * reach + 0.2)
    device = np.array([dims[0] / 2 + rng.uniform(-0.3, 0.3), dims[1] / 2 + rng.uniform(-0.3, 0.3), TABLE_Z_M])
    talkers = []
    for az, dist in zip((config.initiator_az_deg, config.partner_az_deg), config.distance_m):
        a = math.radians(az)
        talkers.append(device + [dist * math.cos(a), dist * math.sin(a), rng.uniform(*MOUTH_ABOVE_TABLE_M)])
    rot = math.radians(config.rotation_deg)
    c, s = math.cos(rot), math.sin(rot)
    mic_pos = [device + [x * c - y * s, x * s + y * c, 0.0] for x, y in mics]
    along_x = rng.random() < 0.5      # the fan stands near one wall
    wall = rng.choice([0.3, -0.3])
    fan = np.array([rng.uniform(0.3, dims[0] - 0.3), wall % dims[1], rng.uniform(0.3, 2.0)]) if along_x \
        else np.array([wall % dims[0], rng.uniform(0.3, dims[1] - 0.3), rng.uniform(0.3, 2.0)])

    def r(v):
        return [round(float(x), 4) for x in v]

    return Geometry(r(dims), r(device), [r(m) for m in mic_pos], [r(p) for p in talkers], r(fan), 0)


NOISE_PLACED_HEIGHT_M = {"fan": (0.3, 1.2), "tv": (0.9, 1.3), "music": (0.7, 1.6)}   # above the floor


def _noise_places(config: SceneConfig, geo: Geometry, rng: np.random.Generator) -> dict[str, list[float]]:
    """Room positions of the noise's point sources: the fan where the room
    put it (by a wall), a TV on a stand or a music speaker on a shelf by
    another wall, or any of them at the configured azimuth and distance
    from the device."""
    places = {}
    for part, _share in scenenoise.KINDS[config.noise]:
        if part not in scenenoise.POINT_PARTS:
            continue
        if config.noise_placed():
            a = math.radians(config.noise_az_deg or 0.0)
            dist = config.noise_distance_m if config.noise_distance_m is not None else 1.0
            pos = [geo.device_m[0] + dist * math.cos(a), geo.device_m[1] + dist * math.sin(a),
                   rng.uniform(*NOISE_PLACED_HEIGHT_M[part])]
        elif part == "fan":
            pos = geo.fan_m
        else:           # a TV or a speaker against the far +y or +x wall
            dims = geo.dims_m
            height = rng.uniform(*NOISE_PLACED_HEIGHT_M[part])
            pos = [rng.uniform(0.5, dims[0] - 0.5), dims[1] - 0.3, height] if rng.random() < 0.5 \
                else [dims[0] - 0.3, rng.uniform(0.5, dims[1] - 0.5), height]
        places[part] = [round(float(x), 4) for x in pos]
    return places


def _room_rirs(config: SceneConfig, geo: Geometry, rate: int, noise_sources: list[list[float]]) -> list[np.ndarray]:
    """Impulse responses, one (channels, length) array per source: initiator,
    partner, then each of `noise_sources` (room positions); aligned so that
    index 0 is the moment of emission."""
    import pyroomacoustics as pra

    if config.rt60_s > 0:
        try:
            absorption, order = pra.inverse_sabine(config.rt60_s, geo.dims_m)
        except ValueError as exc:
            raise InputError(f"RT60 {config.rt60_s} s is not possible in this room: {exc}",
                             "choose an RT60 between 0.15 and 1.5 s") from None
        geo.max_order = int(min(order, MAX_ORDER))
        room = pra.ShoeBox(geo.dims_m, fs=rate, materials=pra.Material(absorption),
                           max_order=geo.max_order, air_absorption=False)
    else:
        room = pra.ShoeBox(geo.dims_m, fs=rate, max_order=0, air_absorption=False)
    sources = [*geo.talkers_m, *noise_sources]
    for pos in sources:
        room.add_source(pos)
    room.add_microphone_array(np.array(geo.mics_m).T)
    room.compute_rir()
    lead = pra.constants.get("frac_delay_length") // 2
    responses = room.rir or []
    rirs = []
    for src in range(len(sources)):
        length = max(len(responses[m][src]) for m in range(len(geo.mics_m)))
        block = np.zeros((len(geo.mics_m), length - lead), dtype=np.float32)
        for m in range(len(geo.mics_m)):
            h = responses[m][src][lead:]
            block[m, :len(h)] = h
        rirs.append(block)
    if config.rt60_s > 0:
        geo.rt60_measured_s = round(float(pra.experimental.measure_rt60(rirs[0][0], rate, decay_db=20)), 3)
    return rirs


def _convolve(track: np.ndarray, rir: np.ndarray) -> np.ndarray:
    return signal.oaconvolve(track, rir)[:len(track)].astype(np.float32)


# --- the whole scene ------------------------------------------------------

@dataclass
class Scene:
    audio: np.ndarray      # (samples, channels) int16
    rate: int
    truth: dict


def render(config: SceneConfig, board: dict | None = None) -> Scene:
    """Render a scene for a board (default: the project's board file)."""
    config.validate()
    board = board if board is not None else boardfile.load()
    rate = int(board["sample_rate_hz"])
    mics = boardfile.mic_positions(board)
    channels = len(mics)
    conv = converse(config, rate)
    # (the fourth stream, places of noise sources, came later: the first
    # three draw what they always drew)
    rng_room, rng_noise, rng_level, rng_place = (np.random.default_rng(s)
                                                 for s in np.random.SeedSequence([config.seed, 0x600F]).spawn(4))
    geo = _geometry(config, mics, rng_room)
    places = _noise_places(config, geo, rng_place)
    rirs = _room_rirs(config, geo, rate, list(places.values()))
    levels_db = [round(float(x), 2) for x in rng_level.uniform(-2.0, 2.0, 2)]
    mic_gain_db = [round(float(x), 3) for x in rng_level.uniform(-MIC_MISMATCH_DB, MIC_MISMATCH_DB, channels)]

    n = conv.samples
    hop = frame_samples(rate)
    speech_frames = np.frombuffer(conv.frames.encode(), dtype=np.uint8) != ord("0")
    mix = np.zeros((channels, n), dtype=np.float32)
    for i in range(2):
        dry = conv.tracks[i] * conv.heat_gain * np.float32(10 ** (levels_db[i] / 20))
        for ch in range(channels):
            mix[ch] += _convolve(dry, rirs[i][ch])
        del dry
    count = n // hop
    speech_power = 1e-6
    if speech_frames.any():
        speech_power = float(np.mean([np.mean(np.square(mix[ch, :count * hop].reshape(count, hop)[speech_frames],
                                                        dtype=np.float64)) for ch in range(channels)]))

    if config.noise == scenenoise.LEGACY:
        noise = _noise(rng_noise, channels, n, rate, rirs[2])
    else:
        noise = _typed_noise(config, np.array(geo.mics_m), float(board["speed_of_sound_m_s"]),
                             dict(zip(places, rirs[2:])), n, rate)
    noise_power = float(np.mean([np.mean(np.square(row, dtype=np.float64)) for row in noise]))
    noise *= np.float32(math.sqrt(speech_power / 10 ** (config.snr_db / 10) / noise_power))
    mix += noise
    del noise
    mix *= (10 ** (np.array(mic_gain_db, dtype=np.float32) / 20))[:, None]

    scale = 10 ** (SPEECH_DBFS / 20) / math.sqrt(speech_power)
    peak = float(np.max(np.abs(mix))) * scale
    if peak > PEAK_LIMIT:
        scale *= PEAK_LIMIT / peak
    noise_dbfs = 10 * math.log10(speech_power / 10 ** (config.snr_db / 10) * scale ** 2)
    mix *= np.float32(scale * 32767)
    np.round(mix, out=mix)
    audio = mix.T.astype(np.int16)
    del mix

    talk_i, talk_p = talk_seconds(conv.frames)
    truth = {
        "schema": SCHEMA,
        "seed": config.seed,
        "rate": rate,
        "channels": channels,
        "duration_s": n / rate,
        "frame_ms": FRAME_MS,
        "rotation_deg": round(config.rotation_deg % 360, 3),
        "rt60_s": config.rt60_s,
        "snr_db": config.snr_db,
        "talkers": [
            {"role": ROLES[i],
             "azimuth_deg": round((az - config.rotation_deg) % 360, 3),
             "distance_m": config.distance_m[i],
             "voice": conv.voices[i],
             "room_azimuth_deg": round(az % 360, 3),
             "level_db": levels_db[i]}
            for i, az in enumerate((config.initiator_az_deg, config.partner_az_deg))
        ],
        "first_speaker": config.first,
        "frames": conv.frames,
        "talk_s": {"initiator": talk_i, "partner": talk_p},
        "initiator_share": talk_i / (talk_i + talk_p) if talk_i + talk_p > 0 else 0.0,
        "target_share": config.share,
        "heat": conv.heat,
        "segments": conv.segments,
        "room": {**asdict(geo), "mic_gain_db": mic_gain_db, "board": board.get("name", "")},
        "noise": _noise_truth(config, geo, places, noise_dbfs),
        "config": {**asdict(config), "distance_m": list(config.distance_m)},
    }
    return Scene(audio, rate, truth)


def _noise(rng: np.random.Generator, channels: int, n: int, rate: int, fan_rir: np.ndarray) -> np.ndarray:
    """Diffuse noise (independent pink noise per microphone plus a common
    low-frequency rumble) and a steady fan heard through the room, at equal power."""
    nyquist = rate / 2
    rumble = np.asarray(signal.sosfilt(signal.butter(2, 150 / nyquist, output="sos"), rng.standard_normal(n)))
    common = (rumble / (np.sqrt(np.mean(rumble ** 2)) or 1.0)).astype(np.float32)
    noise = np.zeros((channels, n), dtype=np.float32)
    for ch in range(channels):
        pink = scenenoise.pink(rng, n)
        noise[ch] = pink / (np.sqrt(np.mean(np.square(pink, dtype=np.float64))) or 1.0) + 0.5 * common
    p_diffuse = float(np.mean([np.mean(np.square(row, dtype=np.float64)) for row in noise]))
    fan_dry = scenenoise.fan(rng, n, rate)
    # the fan is steady: its level at the microphones from a short stretch
    probe = fan_dry[:min(n, 10 * rate + fan_rir.shape[1])]
    skip = min(fan_rir.shape[1], len(probe) // 2)
    p_fan = float(np.mean([np.mean(np.square(_convolve(probe, h)[skip:], dtype=np.float64))
                           for h in fan_rir])) or 1.0
    gain = np.float32(math.sqrt(p_diffuse * FAN_SHARE / (1 - FAN_SHARE) / p_fan))
    for ch in range(channels):
        noise[ch] += gain * _convolve(fan_dry, fan_rir[ch])
    return noise


# parts of the noise types, in a fixed order: each draws from its own stream
_PARTS = ("pink", "babble", "fan", "tv", "music")


def _typed_noise(config: SceneConfig, mics_m: np.ndarray, speed_m_s: float, point_rirs: dict[str, np.ndarray],
                 n: int, rate: int) -> np.ndarray:
    """The noise of a type other than pink-fan: its diffuse parts made
    diffuse for the microphones' positions, its point sources played through
    the room, each at its share of the noise power (mean over channels)."""
    channels = len(mics_m)
    noise = np.zeros((channels, n), dtype=np.float32)
    for part, share in scenenoise.KINDS[config.noise]:
        rng = np.random.default_rng([config.seed, 0x4015E, _PARTS.index(part)])
        if part == "pink":
            independent = np.stack([scenenoise.unit_power(scenenoise.pink(rng, n)) for _ in range(channels)])
            heard = signals.diffuse_mix(independent, mics_m, rate, speed_m_s)
        elif part == "babble":
            heard = signals.diffuse_mix(scenenoise.babble(rng, channels, n, rate, config.voices),
                                        mics_m, rate, speed_m_s)
        else:
            if part == "fan":
                dry = scenenoise.fan(rng, n, rate)
            elif part == "tv":
                dry = scenenoise.tv(rng, n, rate, config.voices)
            else:
                dry = scenenoise.music_player(rng, n, rate)
            heard = np.stack([_convolve(dry, h) for h in point_rirs[part]])
            del dry
        noise += np.float32(math.sqrt(share)) * scenenoise.unit_power(heard)
        del heard
    return noise


def _noise_truth(config: SceneConfig, geo: Geometry, places: dict[str, list[float]], level_dbfs: float) -> dict:
    """The truth's `noise`: type, level, and each part with its share and,
    for a point source, where it stands."""
    parts = []
    for part, share in scenenoise.KINDS[config.noise]:
        entry: dict = {"part": part, "power_share": share}
        if part in places:
            pos = places[part]
            dx, dy = pos[0] - geo.device_m[0], pos[1] - geo.device_m[1]
            room_az = math.degrees(math.atan2(dy, dx)) % 360
            entry.update({"room_m": pos, "room_azimuth_deg": round(room_az, 3),
                          "azimuth_deg": round((room_az - config.rotation_deg) % 360, 3),
                          "distance_m": round(math.hypot(dx, dy), 3)})
        parts.append(entry)
    return {"kind": config.noise, "snr_db": config.snr_db, "level_dbfs": round(level_dbfs, 2), "parts": parts}


def with_overrides(config: SceneConfig, **changes) -> SceneConfig:
    """A copy of `config` with some fields changed (None values are ignored)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})


def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> None:
    """16-bit PCM WAV, interleaved channels."""
    with open(path, "wb") as f, wave.open(f, "wb") as out:
        out.setnchannels(audio.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.ascontiguousarray(audio, dtype="<i2").tobytes())


def truth_path_for(wav_path: str | Path, truth_path: str | Path | None = None) -> Path:
    """Where a scene's ground truth goes: `truth_path`, or beside the WAV as .json."""
    return Path(truth_path) if truth_path else Path(wav_path).with_suffix(".json")


def write(scene: Scene, wav_path: str | Path, truth_path: str | Path | None = None) -> Path:
    """Write the WAV and its ground truth (default: beside it, .json); returns the truth path."""
    wav_path = Path(wav_path)
    truth_path = truth_path_for(wav_path, truth_path)
    try:
        write_wav(wav_path, scene.audio, scene.rate)
        truth_path.write_text(json.dumps(scene.truth, separators=(",", ":")) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write the scene: {exc}", "check that the folder exists and is writable") from None
    return truth_path
