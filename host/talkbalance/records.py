"""Session records on the host: human-readable summaries.

The record itself is built by the firmware (tbfw/session.py); its fields are
documented in docs/record.md.
"""

from __future__ import annotations


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


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
        verdict = "-"
        if ini is not None:
            verdict = "in band" if abs(ini - target) <= band + 1e-9 else ("over" if ini > target else "under")
        lines.append(f"  initiator share {_pct(ini)} against target {_pct(target)} +/- {100 * band:.0f}: {verdict}; "
                     f"in band {_pct(rec.get('in_band_share'))} of the time after 5 minutes")
        lines.append(f"  overlap {_mmss(rec.get('overlap_s'))}, silence {_mmss(rec.get('silence_s'))}, "
                     f"{rec.get('speaker_changes_per_min', 0)} speaker changes/min, "
                     f"{len(rec.get('heat', []))} heated passage(s)")
    bound = rec.get("initiator_bound_by")
    if bound:
        lines.append(f"  initiator bound by: {bound}")
    return "\n".join(lines)
