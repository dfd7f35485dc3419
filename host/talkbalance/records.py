"""Session records on the host: human-readable summaries.

The record itself is built by the firmware (tbfw/session.py); its fields are
documented in docs/record.md.
"""

from __future__ import annotations

import time

from talkbalance.fw import tally

# What every command shows for in-band time when the session never reached
# minute 5 (the record's in_band fields are null then).
IN_BAND_NA = "n/a (under 5 minutes)"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _mmss(seconds: float | None) -> str:
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
    return f"{_pct(share)} of the time after 5 minutes ({_mmss(rec['in_band_s'])})"


def verdict(share: float | None, target: float, band: float) -> str:
    """"in band", "over" or "under" for a share against target +/- band, by
    the firmware's own definition (tbfw.tally.in_band, in per mille)."""
    if share is None:
        return "-"
    share_pm, target_pm, band_pm = round(1000 * share), round(1000 * target), round(1000 * band)
    if tally.in_band(share_pm, target_pm, band_pm):
        return "in band"
    return "over" if share_pm > target_pm else "under"


def format_record(rec: dict) -> str:
    """A few lines a person can read after a meeting."""
    lines = [f"session {rec['id']}  duration {_mmss(rec['duration_s'])}  ({rec.get('end_reason') or rec.get('state')})"]
    target, band = rec.get("target_share"), rec.get("band")
    for t in rec["talkers"]:
        az = "?" if t.get("azimuth_deg") is None else f"{t['azimuth_deg']:.0f} deg"
        lines.append(
            f"  {t['role']:<9} at {az:>7}: talk {_mmss(t.get('talk_s'))} = {_pct(t.get('share'))}, "
            f"{t.get('turns', 0)} turns, longest {_mmss(t.get('longest_monologue_s'))}, "
            f"{t.get('interruptions', 0)} interruptions"
        )
    if target is not None:
        ini = rec["talkers"][0].get("share")
        lines.append(f"  initiator share {_pct(ini)} against target {_pct(target)} +/- {100 * band:.0f}: "
                     f"{verdict(ini, target, band)}; in band {in_band_text(rec)}")
        lines.append(f"  overlap {_mmss(rec.get('overlap_s'))}, silence {_mmss(rec.get('silence_s'))}, "
                     f"{rec.get('speaker_changes_per_min', 0)} speaker changes/min, "
                     f"{len(rec.get('heat', []))} heated passage(s)")
    bound = rec.get("initiator_bound_by")
    if bound:
        lines.append(f"  initiator bound by: {bound}")
    return "\n".join(lines)
