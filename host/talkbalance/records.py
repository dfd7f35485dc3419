"""Session records on the host: human-readable summaries.

The record itself is built by the firmware (tbfw/session.py); its fields are
documented in docs/record.md.
"""

from __future__ import annotations

import time
from datetime import datetime

from talkbalance.fw import tally
from talkbalance.recordcheck import APPORTIONED_MAX, MIC_LOST_MAX, VOTED_MIN, finite_number
from talkbalance.text import plural

# What every command shows for in-band time when the session never reached
# minute 5 (the record's in_band fields are null then).
IN_BAND_NA = "n/a (under 5 minutes)"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def mmss(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


DATE_UNKNOWN = "date unknown"


def date_text(date_s: int | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored session's date (LocalStore's Stored.date_s) in local time, or
    DATE_UNKNOWN for a session recorded before a restart with the clock unset."""
    return DATE_UNKNOWN if date_s is None else time.strftime(fmt, time.localtime(date_s))


def in_band_share(rec: dict) -> float | None:
    """The record's in-band share (0..1), None when the session never reached
    minute 5 (older records said 0 seconds of in-band time then)."""
    share = rec.get("in_band_share")
    if share is None or rec.get("in_band_s") is None:
        return None
    return share


def in_band_text(rec: dict) -> str:
    """In-band time as a person reads it: share and time, or IN_BAND_NA."""
    share = in_band_share(rec)
    if share is None:
        return IN_BAND_NA
    return f"{pct(share)} of the time after 5 minutes ({mmss(rec['in_band_s'])})"


def verdict(share: float | None, target: float, band: float) -> str:
    """"in band", "over" or "under" for a share against target +/- band, by
    the firmware's own definition (tbfw.tally.in_band, in per mille)."""
    if share is None:
        return "-"
    share_pm, target_pm, band_pm = round(1000 * share), round(1000 * target), round(1000 * band)
    if tally.in_band(share_pm, target_pm, band_pm):
        return "in band"
    return "over" if share_pm > target_pm else "under"


# How a session ended and how its initiator was found, in words.
_ENDED = {"long_press": "ended by a long press", "stopped": "ended from the laptop",
          "silence": "ended by silence", "max_length": "ended at the longest session allowed"}
_BOUND = {"first": "the first voice heard", "second": "the second voice heard",
          "claim": "claimed (the button held, or talkbalance session claim)"}


def ended_text(rec: dict) -> str:
    reason = rec.get("end_reason")
    if reason:
        return _ENDED.get(reason, "ended: " + str(reason).replace("_", " "))
    return "not ended" if rec.get("state") in ("listening", "session") else str(rec.get("state") or "not ended")


def iso_date(date_s: int | None) -> str | None:
    """A session's date as ISO 8601 in local time with its UTC offset, for
    CSV and JSON; None when the date is unknown."""
    if date_s is None:
        return None
    return datetime.fromtimestamp(date_s).astimezone().isoformat(timespec="seconds")


def _share(value) -> bool:
    """A share 0..1 as a record gives it (not a bool, NaN or out of range)."""
    return finite_number(value) and 0 <= value <= 1


def hearing_text(rec: dict) -> str | None:
    """In words, when the record says it could not hear well enough to trust
    its figures (docs/record.md, `hearing`); None when it heard well or the
    record does not say."""
    hearing = rec.get("hearing")
    if not isinstance(hearing, dict) or hearing.get("reliable") is not False:
        return None
    why = []
    snr, attributed = hearing.get("snr_db"), hearing.get("attributed")
    if isinstance(snr, int) and not isinstance(snr, bool):
        why.append(f"speech about {snr} dB over the noise")
    source = hearing.get("noise_source_db")
    if isinstance(source, int) and not isinstance(source, bool):  # a TV or music at one place
        why.append(f"a sound from one place about {source} dB under the quieter voice")
    if _share(attributed):
        why.append(f"{100 * attributed:.0f}% of the speech told apart")
    voted = hearing.get("voted")
    if _share(voted) and voted < VOTED_MIN:  # docs/record.md: too few frames with a direction
        why.append(f"a speaker's direction in only {100 * voted:.0f}% of it")
    apportioned = hearing.get("apportioned")
    if _share(apportioned) and apportioned > APPORTIONED_MAX:  # the two voices were told apart late
        why.append(f"{100 * apportioned:.0f}% of it heard before the two voices were told apart "
                   f"and shared out in proportion")
    lost, duration = hearing.get("mic_lost_s"), rec.get("duration_s")
    mic = finite_number(lost) and finite_number(duration) and lost > MIC_LOST_MAX * duration
    if mic:
        why.append(f"a microphone out for {mmss(lost)} of it")
    if any(t.get("azimuth_deg") is None for t in rec.get("talkers", []) if isinstance(t, dict)):
        why.append("one person's place never found")
    return ("could not hear well enough to trust these figures" + ("" if mic else " (a loud room, or a TV or music nearby)")
            + (": " + ", ".join(why) if why else ""))


# The longest session a record may say it was (the firmware stops one at
# 4 h, `max_session_min`): a week, so a plot's axis stays a plot's
_DURATION_MAX_S = 7 * 86_400
_ROLES = ("initiator", "partner")


def _time(value) -> bool:
    return finite_number(value) and 0 <= value <= _DURATION_MAX_S


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _word(value) -> bool:
    return isinstance(value, str) and len(value) <= 40 and value.isascii() and value.isprintable()


def _not_one(what: str, value) -> str:
    return f"has {'an' if what[0] in 'aeiou' else 'a'} {what} that is not one ({value!r:.40})"


def _row_of_numbers(value, n: int) -> bool:
    return isinstance(value, list) and len(value) >= n and all(finite_number(x) for x in value[:n])


def shape_problem(rec) -> str | None:
    """Why the commands cannot show `rec` (a field they read holds something
    else than the firmware writes there, docs/record.md), or None when they
    can. Sync stores what the device sends and the store's file can be
    edited, so every reader of stored records asks this first; figures that
    disagree with each other are recordcheck's business, not this."""
    if not isinstance(rec, dict):
        return "is not a JSON object"
    for key in ("id", "device"):
        if not isinstance(rec.get(key), str) or not rec[key]:
            return f"has no {key}"
    if not finite_number(rec.get("start")):
        return "has no start"
    if not _time(rec.get("duration_s")):
        return _not_one("duration_s", rec.get("duration_s"))
    talkers = rec.get("talkers")
    if not isinstance(talkers, list) or [t.get("role") if isinstance(t, dict) else None for t in talkers] != list(_ROLES):
        return "does not list the initiator and the partner as its talkers"
    checks = (("share", _share), ("talk_s", _time), ("longest_monologue_s", _time), ("response_gap_s", _time),
              ("azimuth_deg", finite_number), ("turns", _count), ("interruptions", _count))
    for t in talkers:
        for key, ok in checks:
            if t.get(key) is not None and not ok(t[key]):
                return _not_one(f"{t['role']} {key}", t[key])
    for key, ok in (("target_share", _share), ("band", _share)):
        if key in rec and not ok(rec[key]):
            return _not_one(key, rec[key])
    if ("target_share" in rec) != ("band" in rec):
        return "has a target_share without its band, or a band without its target"
    for key, ok in (("in_band_share", _share), ("in_band_s", _time), ("overlap_s", _time), ("silence_s", _time),
                    ("speaker_changes_per_min", finite_number), ("end_reason", _word), ("state", _word),
                    ("initiator_bound_by", _word)):
        if rec.get(key) is not None and not ok(rec[key]):
            return _not_one(key, rec[key])
    for key, n in (("heat", 2), ("timeline", 3)):
        rows = rec.get(key)
        if key in rec and not (isinstance(rows, list) and all(_row_of_numbers(r, n) for r in rows)):
            return f"has a {key} that is not a list of rows of numbers"
    pacing = rec.get("pacing")
    if pacing is not None and not (isinstance(pacing, dict) and
                                   ("meeting_s" not in pacing or _time(pacing["meeting_s"]) and pacing["meeting_s"] > 0)):
        return "has a pacing that is not one"
    if rec.get("hearing") is not None and not isinstance(rec["hearing"], dict):
        return "has a hearing that is not one"
    return None


def format_record(rec: dict, date: str = "") -> str:
    """A few lines a person can read after a meeting; `date` (date_text of a
    stored session) heads them when given."""
    when = f"  {date}" if date else ""
    lines = [f"session {rec['id']}{when}  duration {mmss(rec['duration_s'])}, {ended_text(rec)}"]
    target, band = rec.get("target_share"), rec.get("band")
    for t in rec["talkers"]:
        az = "?" if t.get("azimuth_deg") is None else f"{t['azimuth_deg']:.0f} deg"
        lines.append(
            f"  {t['role']:<9} at {az:>7}: talk {mmss(t.get('talk_s'))}, share {pct(t.get('share'))}, "
            f"{plural(t.get('turns') or 0, 'turn')}, longest {mmss(t.get('longest_monologue_s'))}, "
            f"{plural(t.get('interruptions') or 0, 'interruption')}"
        )
    if target is not None:
        ini = rec["talkers"][0].get("share")
        lines.append(f"  initiator share {pct(ini)} against target {pct(target)} +/- {100 * band:.0f}: "
                     f"{verdict(ini, target, band)}; time in band {in_band_text(rec)}")
        changes = rec.get("speaker_changes_per_min")
        lines.append(f"  overlap {mmss(rec.get('overlap_s'))}, silence {mmss(rec.get('silence_s'))}, "
                     + ("" if changes is None else f"{changes:.1f} speaker changes a minute, ")
                     + plural(len(rec.get("heat") or []), "heated passage"))
    bound = rec.get("initiator_bound_by")
    if bound:
        lines.append(f"  the initiator: {_BOUND.get(bound, str(bound))}")
    hearing = hearing_text(rec)
    if hearing:
        lines.append(f"  {hearing}")
    return "\n".join(lines)
