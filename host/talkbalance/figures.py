"""The conversation figures of a scene's ground truth: talk time, turns,
longest monologue, interruptions, response gap, overlap.

The definitions are the ones docs/record.md ("The conversation figures")
writes down; this module applies them to a scene's truth (docs/scene.md):
the per-frame speech of each person (`frames`) and the conversation plan's
utterances (`segments`). It does not use the firmware's code, so that
`talkbalance evaluate` can score the firmware's figures against it.

- An utterance's speech is its talker's speech frames within the segment.
- A backchannel is an utterance of at most `BACKCHANNEL_MAX_S` of speech
  that lies inside one of the other person's longer utterances (the other
  goes on talking after it). It counts as talk time and overlap, never as a
  turn.
- A turn is a run of one person's other utterances, up to the other
  person's next turn; it runs from its first speech frame to its last.
- An interruption is a turn that starts before the other person's turn,
  the one holding the floor, has ended.
- A response gap is the silence from the end of the other's turn to the
  start of a turn that is not an interruption.

The plan's own labels (`kind`) are not read: the tests check that the
definitions give them back on simulated conversations.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from talkbalance.errors import InputError

ROLES = ("initiator", "partner")
BACKCHANNEL_MAX_S = 0.8      # speech in a backchannel at most; a turn has more
_SPEAKS = ("13", "23")       # frame codes in which each role speaks


@dataclass(frozen=True)
class Utterance:
    """One plan segment, in frames: [start, end) of its speech."""

    who: int                 # 0 initiator, 1 partner
    start: int
    end: int
    speech: int              # speech frames inside


@dataclass(frozen=True)
class Turn:
    who: int
    start: int               # first speech frame
    end: int                 # one past the last speech frame
    interruption: bool
    gap: int | None          # frames of silence before it (None: first turn or an interruption)


@dataclass(frozen=True)
class TalkerFigures:
    talk_s: float
    turns: int
    interruptions: int
    longest_monologue_s: float
    response_gap_s: float | None


@dataclass(frozen=True)
class Figures:
    talkers: tuple[TalkerFigures, TalkerFigures]   # initiator, partner
    overlap_s: float

    def talker(self, role: str) -> TalkerFigures:
        return self.talkers[ROLES.index(role)]


def _frames(truth: dict) -> tuple[str, float]:
    frames = truth.get("frames")
    frame_ms = truth.get("frame_ms")
    if not isinstance(frames, str) or frames.strip("0123"):
        raise InputError("truth: 'frames' must be a string of 0, 1, 2 and 3",
                         "give the JSON that `talkbalance scene` wrote beside the WAV")
    if not isinstance(frame_ms, int) or isinstance(frame_ms, bool) or not 1 <= frame_ms <= 1000:
        raise InputError(f"truth: 'frame_ms' must be a whole number of milliseconds, not {frame_ms!r}")
    return frames, frame_ms / 1000


def utterances(truth: dict) -> list[Utterance]:
    """The plan's segments with speech in them, in frames, in start order."""
    frames, step = _frames(truth)
    segments = truth.get("segments")
    if not isinstance(segments, list):
        raise InputError("truth: 'segments' must be a list")
    found = []
    for seg in segments:
        if (not isinstance(seg, list) or len(seg) < 3 or seg[2] not in ROLES
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seg[:2])
                or not 0 <= seg[0] <= seg[1]):
            raise InputError(f"truth: a segment must be [start_s, end_s, role, kind], not {seg!r}")
        who = ROLES.index(seg[2])
        lo, hi = int(seg[0] / step), min(len(frames), int(-(-seg[1] // step)))
        on = [i for i in range(lo, hi) if frames[i] in _SPEAKS[who]]
        if on:
            found.append(Utterance(who, on[0], on[-1] + 1, len(on)))
    found.sort(key=lambda u: (u.start, u.who))
    return found


def is_backchannel(u: Utterance, others: list[Utterance], step: float) -> bool:
    """Short, and inside one of the other person's longer utterances."""
    if u.speech * step > BACKCHANNEL_MAX_S + 1e-9:
        return False
    return any(o.start < u.start and u.end < o.end and o.speech * step > BACKCHANNEL_MAX_S + 1e-9
               for o in others)


def turns(truth: dict) -> list[Turn]:
    """The conversation's turns in order (backchannels left out)."""
    _, step = _frames(truth)
    utts = utterances(truth)
    by_who = ([u for u in utts if u.who == 0], [u for u in utts if u.who == 1])
    held: list[list[int]] = []          # [who, start, end] of each turn so far
    for u in utts:
        if is_backchannel(u, by_who[1 - u.who], step):
            continue
        if held and held[-1][0] == u.who:   # the same person again: the same turn
            held[-1][2] = max(held[-1][2], u.end)
        else:
            held.append([u.who, u.start, u.end])
    out = []
    for k, (who, start, end) in enumerate(held):
        if k == 0:
            out.append(Turn(who, start, end, False, None))
            continue
        before = held[k - 1][2]              # the other's turn, holding the floor
        cut_in = start < before
        out.append(Turn(who, start, end, cut_in, None if cut_in else start - before))
    return out


def figures(truth: dict) -> Figures:
    """Every conversation figure of a scene's truth."""
    frames, step = _frames(truth)
    all_turns = turns(truth)
    talkers = []
    for who in range(2):
        mine = [t for t in all_turns if t.who == who]
        gaps = [t.gap for t in mine if t.gap is not None]
        talkers.append(TalkerFigures(
            talk_s=round(sum(frames.count(c) for c in _SPEAKS[who]) * step, 2),
            turns=len(mine),
            interruptions=sum(t.interruption for t in mine),
            longest_monologue_s=round(max((t.end - t.start for t in mine), default=0) * step, 2),
            response_gap_s=round(statistics.median(gaps) * step, 3) if gaps else None,
        ))
    return Figures((talkers[0], talkers[1]), round(frames.count("3") * step, 2))
