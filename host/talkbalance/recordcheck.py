"""An independent check of a session record: do its figures agree with each other?

The firmware builds a record from its own counters (tbfw/session.py); this
module re-derives what the fields imply from the record alone, in plain
arithmetic, without the firmware's code, so an error in how the device
computes one figure shows up as a disagreement with another. Sync runs it on
every record it fetches (and warns, keeping the record); the tests run it on
every evaluation scene and on generated records. docs/record.md lists the
invariants; each problem found names one.

Tolerances: times are rounded to 0.01 s and counted in frames (frame_ms from
the record's config, 20 ms by default), shares to 0.0001.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ROUND_S = 0.005  # half the rounding step of every time in the record
ROUND_SHARE = 0.00005  # half the rounding step of a share
BAND_AFTER_S = 300  # in-band time counts after minute 5
ROLES = ("initiator", "partner")
# docs/record.md, `hearing`: attribution is reliable only with both talkers
# found, at least this share of the speech attributed ...
HEARD_MIN = 0.75
# ... the speech at least this far over the noise floor (whole dB) ...
SNR_MIN_DB = 5
# ... nobody silent in at least this share of the session ...
PAUSE_MIN = 0.03
# ... at least this share of the speech frames with a vote for a talker ...
VOTED_MIN = 0.1
# ... at most this share of the speech heard without a direction before
# both talkers were known, and so shared out between them in proportion ...
APPORTIONED_MAX = 0.15
# ... and at most this share of the session with a microphone lost since the
# talkers were learned (no frame votes then)
MIC_LOST_MAX = 0.05


@dataclass(frozen=True)
class Problem:
    invariant: str  # the name docs/record.md gives it
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def finite_number(value) -> bool:
    """A JSON number that is a finite value (not a bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    def __init__(self, rec: dict):
        self.rec = rec
        self.problems: list[Problem] = []
        cfg = rec.get("config")
        self.cfg = cfg if isinstance(cfg, dict) else {}
        frame_ms = self.cfg.get("frame_ms", 20)
        self.frame_s = frame_ms / 1000 if finite_number(frame_ms) and frame_ms > 0 else 0.02
        self.round_talk = ROUND_S  # the rounding of a talker's attributed speech

    def bad(self, invariant: str, detail: str) -> None:
        self.problems.append(Problem(invariant, detail))

    def time(self, value, where: str, upto: float | None = None) -> float | None:
        """A time field: a number, not negative, at most `upto`; else a problem."""
        if not finite_number(value):
            self.bad("times", f"{where} is {value!r}, not a number of seconds")
            return None
        if value < 0:
            self.bad("times", f"{where} is negative ({value})")
        elif upto is not None and value > upto + ROUND_S:
            self.bad("times", f"{where} {value} s is longer than the session ({upto} s)")
        return float(value)

    # -- the invariants -----------------------------------------------------

    def run(self) -> list[Problem]:
        rec = self.rec
        duration = self.time(rec.get("duration_s"), "duration_s")
        if duration is None:
            return self.problems
        talkers = rec.get("talkers")
        if not isinstance(talkers, list) or len(talkers) != 2 or not all(isinstance(t, dict) for t in talkers):
            self.bad("talkers", "there must be two talker entries")
            return self.problems
        if [t.get("role") for t in talkers] != list(ROLES):
            self.bad("talkers", f"roles are {[t.get('role') for t in talkers]}, not initiator then partner")
        self.identity()
        if "overlap_s" not in rec:  # a record with no tally: only the above applies
            return self.problems
        talk = [self.time(t.get("talk_s"), f"{t.get('role')} talk_s", duration) for t in talkers]
        # the speech attributed to each talker (the share's): their talk
        # time plus the hangover's frames at the noise floor (held_s;
        # absent in records from firmware before it was added)
        held = [self.time(t.get("held_s", 0), f"{t.get('role')} held_s", duration) for t in talkers]
        overlap = self.time(rec.get("overlap_s"), "overlap_s", duration)
        silence = self.time(rec.get("silence_s"), "silence_s", duration)
        unknown = self.time(rec.get("unknown_s"), "unknown_s", duration)
        for t in talkers:
            self.talker(t, duration)
        if None in talk or None in held or overlap is None:
            return self.problems
        if any("held_s" in t for t in talkers):
            self.round_talk = 2 * ROUND_S  # two rounded times a talker
            talk = [a + h for a, h in zip(talk, held)]
        self.shares(talkers, talk)
        if silence is not None and unknown is not None:
            self.totals(talk, overlap, silence, unknown, duration)
        if unknown is not None and "hearing" in rec:
            self.hearing(talkers, talk, overlap, unknown, silence, duration)
        self.timeline(talk, overlap, duration)
        self.in_band(duration)
        self.heat(duration)
        self.settings(duration)
        return self.problems

    def identity(self) -> None:
        rec = self.rec
        for key in ("boot", "session"):
            if key in rec and not (_whole(rec[key]) and rec[key] >= 0):
                self.bad("identity", f"{key} is {rec[key]!r}, not a whole number >= 0")
        if "uptime_s" in rec and not (finite_number(rec["uptime_s"]) and rec["uptime_s"] >= 0):
            self.bad("identity", f"uptime_s is {rec['uptime_s']!r}, not a time since the start")
        if "clock_set" in rec and not isinstance(rec["clock_set"], bool):
            self.bad("identity", f"clock_set is {rec['clock_set']!r}, not true or false")
        if not finite_number(rec.get("start")) or rec["start"] < 0:
            self.bad("identity", f"start is {rec.get('start')!r}, not a time")

    def talker(self, t: dict, duration: float) -> None:
        role = t.get("role")
        self.time(t.get("longest_monologue_s"), f"{role} longest_monologue_s", duration)
        turns, interruptions = t.get("turns"), t.get("interruptions")
        if not (_whole(turns) and turns >= 0 and _whole(interruptions) and interruptions >= 0):
            self.bad("turns", f"{role}: turns {turns!r}, interruptions {interruptions!r}")
        elif interruptions > turns:
            self.bad("turns", f"{role}: {interruptions} interruptions but only {turns} turns taken")
        gap = t.get("response_gap_s")
        if gap is not None and not (finite_number(gap) and 0 <= gap <= 5.05):
            self.bad("times", f"{role} response_gap_s {gap!r} outside 0..5 s")
        az = t.get("azimuth_deg")
        if az is not None and not (finite_number(az) and 0 <= az < 360):
            self.bad("talkers", f"{role} azimuth_deg {az!r} outside 0..359")

    def shares(self, talkers: list[dict], talk: list) -> None:
        shares = [t.get("share") for t in talkers]
        total = talk[0] + talk[1]
        if total <= 0:
            if shares != [None, None]:
                self.bad("shares", f"no talk, yet shares {shares}")
            return
        if not all(finite_number(s) and 0 <= s <= 1 for s in shares):
            self.bad("shares", f"shares {shares} are not fractions")
            return
        if abs(shares[0] + shares[1] - 1) > 2 * ROUND_SHARE + 1e-9:
            self.bad("shares", f"shares sum to {shares[0] + shares[1]:.4f}, not 1")
        # each share is its talk over both talks; talk_s is rounded to 0.01 s
        for role, share, own in zip(ROLES, shares, talk):
            slack = ROUND_SHARE + 2 * self.round_talk / total
            if abs(share - own / total) > slack:
                self.bad("shares", f"{role} share {share} but talk {own} s of {total:.2f} s is {own / total:.4f}")

    def totals(self, talk: list, overlap: float, silence: float, unknown: float, duration: float) -> None:
        if overlap > min(talk) + self.round_talk:
            self.bad("totals", f"overlap {overlap} s exceeds a talker's whole talk ({min(talk)} s)")
        # every frame is one of: one talker, both, unknown speech, silence
        covered = talk[0] + talk[1] - overlap + unknown + silence
        if abs(covered - duration) > self.frame_s + 3 * ROUND_S + 2 * self.round_talk:
            self.bad("totals", f"talk, overlap, unknown and silence cover {covered:.2f} s of {duration} s")

    def hearing(self, talkers: list[dict], talk: list, overlap: float, unknown: float,
                silence: float | None, duration: float) -> None:
        hearing = self.rec["hearing"]
        if not isinstance(hearing, dict):
            self.bad("hearing", f"hearing is {hearing!r}, not an object")
            return
        snr, attributed, reliable = hearing.get("snr_db"), hearing.get("attributed"), hearing.get("reliable")
        # voted, apportioned and mic_lost_s are absent in records from
        # firmware before they were added
        voted, apportioned = (self.share_or_null(hearing, key) for key in ("voted", "apportioned"))
        mic_lost = hearing.get("mic_lost_s")
        if mic_lost is not None and (not finite_number(mic_lost) or mic_lost < 0):
            self.bad("hearing", f"mic_lost_s is {mic_lost!r}, not a time in seconds")
            mic_lost = None
        if snr is not None and not _whole(snr):
            self.bad("hearing", f"snr_db is {snr!r}, not whole dB or null")
            snr = None
        source = hearing.get("noise_source_db")  # absent in records from firmware before it was added
        if source is not None and not _whole(source):
            self.bad("hearing", f"noise_source_db is {source!r}, not whole dB or null")
        if not isinstance(reliable, bool):
            self.bad("hearing", f"reliable is {reliable!r}, not true or false")
        heard = talk[0] + talk[1] - overlap
        speech = heard + unknown
        if attributed is None:
            if speech > 2 * self.frame_s:
                self.bad("hearing", f"attributed is null but {speech:.2f} s of speech were heard")
        elif not finite_number(attributed) or not 0 <= attributed <= 1:
            self.bad("hearing", f"attributed is {attributed!r}, not a share 0..1")
            attributed = None
        elif speech > 0:
            # the record gives whole per mille, cut down; each time is rounded
            slack = 0.001 + (2 * ROUND_S + 2 * self.round_talk) / speech
            if not -slack <= heard / speech - attributed <= slack:
                self.bad("hearing", f"attributed {attributed} but {heard:.2f} s of {speech:.2f} s of speech were "
                                    f"given to a talker ({heard / speech:.4f})")
        if reliable is True:
            found = all(t.get("azimuth_deg") is not None for t in talkers)
            why = [w for w, bad in (("a talker was not found", not found),
                                    (f"attributed {attributed} < {HEARD_MIN}",
                                     attributed is None or attributed < HEARD_MIN - 0.0005),
                                    (f"snr_db {snr} < {SNR_MIN_DB}", snr is None or snr < SNR_MIN_DB),
                                    (f"silence_s {silence} under {PAUSE_MIN:.0%} of {duration} s",
                                     silence is not None and silence + 2 * ROUND_S < PAUSE_MIN * duration),
                                    (f"voted {voted} < {VOTED_MIN}",
                                     voted is not None and voted < VOTED_MIN - 0.0005),
                                    (f"apportioned {apportioned} > {APPORTIONED_MAX}",
                                     apportioned is not None and apportioned > APPORTIONED_MAX),
                                    (f"mic_lost_s {mic_lost} over {MIC_LOST_MAX:.0%} of {duration} s",
                                     mic_lost is not None and mic_lost > MIC_LOST_MAX * duration + 2 * ROUND_S)) if bad]
            if why:
                self.bad("hearing", "reliable is true but " + "; ".join(why))

    def share_or_null(self, hearing: dict, key: str) -> float | None:
        """hearing[key] when it is a share 0..1; else None (a problem unless null or absent)."""
        value = hearing.get(key)
        if value is not None and (not finite_number(value) or not 0 <= value <= 1):
            self.bad("hearing", f"{key} is {value!r}, not a share 0..1 or null")
            return None
        return value

    def timeline(self, talk: list, overlap: float, duration: float) -> None:
        rows = self.rec.get("timeline")
        if rows is None:
            return
        if not isinstance(rows, list):
            self.bad("timeline", "not a list")
            return
        minutes = math.ceil(duration / 60 - 1e-9) if duration > 0 else 0
        if len(rows) > minutes:
            self.bad("timeline", f"{len(rows)} minutes for a session of {duration} s")
        sums = [0.0, 0.0, 0.0]
        for i, row in enumerate(rows):
            if not (isinstance(row, list) and len(row) == 4 and all(finite_number(v) for v in row[:3])
                    and row[3] in (0, 1) and not isinstance(row[3], float)):
                self.bad("timeline", f"minute {i + 1} is {row!r}")
                return
            if min(row[:3]) < 0 or row[0] + row[1] + row[2] > 60 + 3 * ROUND_S:
                self.bad("timeline", f"minute {i + 1} holds {row[0] + row[1] + row[2]:.2f} s of talk")
            for k in range(3):
                sums[k] += row[k]
        # the minutes add up to the talk, within a frame per minute
        slack = (len(rows) + 1) * (self.frame_s + 3 * ROUND_S) + self.round_talk - ROUND_S
        for k, (what, want) in enumerate((("initiator", talk[0] - overlap), ("partner", talk[1] - overlap),
                                          ("overlap", overlap))):
            if abs(sums[k] - want) > slack:
                self.bad("timeline", f"the minutes give {sums[k]:.2f} s of {what} talk, the totals {want:.2f} s")

    def in_band(self, duration: float) -> None:
        rec = self.rec
        seconds, share = rec.get("in_band_s"), rec.get("in_band_share")
        after = math.floor(duration + ROUND_S) - BAND_AFTER_S  # whole seconds after minute 5
        if seconds is None or share is None:
            if seconds is not None or share is not None:
                self.bad("in band", f"in_band_s {seconds!r} and in_band_share {share!r}: both null or neither")
            elif after > 0:
                self.bad("in band", f"null, but the session ran {after} s past minute 5")
            return
        if after <= 0:
            self.bad("in band", f"in_band_s {seconds!r} for a session that never passed minute 5")
            return
        if not (finite_number(seconds) and finite_number(share) and 0 <= share <= 1):
            self.bad("in band", f"in_band_s {seconds!r}, in_band_share {share!r}")
            return
        if seconds < 0 or seconds > after + ROUND_S:
            self.bad("in band", f"in_band_s {seconds} s, but only {after} s came after minute 5")
        if abs(share * after - seconds) > ROUND_SHARE * after + ROUND_S:
            self.bad("in band", f"in_band_share {share} of {after} s is not in_band_s {seconds} s")

    def heat(self, duration: float) -> None:
        passages = self.rec.get("heat")
        if not isinstance(passages, list):
            self.bad("heat", f"{passages!r} is not a list")
            return
        end = 0.0
        for p in passages:
            if not (isinstance(p, list) and len(p) == 2 and all(finite_number(v) for v in p)):
                self.bad("heat", f"passage {p!r}")
                continue
            a, b = p
            if a < end - ROUND_S or b < a or a < 0 or b > duration + ROUND_S:
                self.bad("heat", f"passage {a}-{b} s is not inside the session (0-{duration} s) after the last")
            end = max(end, b)

    def settings(self, duration: float) -> None:
        rec, cfg = self.rec, self.cfg
        if not cfg:
            self.bad("settings", "no config in the record")
            return
        pairs = (("target_share", "target_share_pct", 100), ("band", "band_pct", 100))
        for field, key, scale in pairs:
            if finite_number(cfg.get(key)) and rec.get(field) is not None:
                if not finite_number(rec[field]) or abs(rec[field] - cfg[key] / scale) > 1e-9:
                    self.bad("settings", f"{field} {rec[field]!r} but the config's {key} is {cfg[key]}")
        pacing = rec.get("pacing")
        if isinstance(pacing, dict) and finite_number(cfg.get("meeting_min")):
            meeting = cfg["meeting_min"] * 60
            if pacing.get("meeting_s") != meeting:
                self.bad("settings", f"pacing meeting_s {pacing.get('meeting_s')!r}, config meeting_min "
                                     f"{cfg['meeting_min']}")
            over = max(0, math.floor(duration + ROUND_S) - meeting)
            if pacing.get("over_s") != over:
                self.bad("settings", f"pacing over_s {pacing.get('over_s')!r}, but {duration} s is {over} s over")
        rule, bound = cfg.get("initiator_rule"), rec.get("initiator_bound_by")
        if bound not in (None, "claim") and bound != rule:
            self.bad("settings", f"initiator bound by {bound!r} while the config's rule is {rule!r}")
        if finite_number(cfg.get("max_session_min")) and duration > cfg["max_session_min"] * 60 + 1:
            self.bad("settings", f"{duration} s is longer than max_session_min {cfg['max_session_min']}")


def check(rec: dict) -> list[Problem]:
    """Every disagreement found in the record; [] when its figures agree."""
    if not isinstance(rec, dict):
        return [Problem("record", "not a JSON object")]
    return _Checker(rec).run()
