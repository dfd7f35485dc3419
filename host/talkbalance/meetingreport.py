"""Reports on one meeting and on a series of meetings with the same person.

`session_report(rec, ...)` and `series_report(meetings, partner)` return a
`Report`: the matplotlib figure, the numbers it shows (so tests can check
them against the records), plain sentences for the terminal, and the tables
an HTML page shows. `write_png` saves the figure; `write_html` writes one
self-contained page (the plot inline as a data: URI, styles inline, nothing
fetched from the network).

The meeting plot spans the meeting itself, with the planned length marked
when it falls within the view (and named in the title when the meeting ended
well before it). The series plot puts one point per meeting along the real
calendar dates, against the target band, with time in band, heated passages
and follow-ups agreed; it reads the same with 1 meeting as with 30.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib

from talkbalance.records import (
    date_text,
    ended_text,
    hearing_text,
    in_band_share,
    in_band_text,
    mmss,
    pct,
    verdict,
)
from talkbalance.text import plural, printable

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

INITIATOR = "#0072B2"  # Okabe-Ito blue
PARTNER = "#E69F00"  # Okabe-Ito orange
OVERLAP = "#999999"
BAND = "#009E73"  # green band
HEAT = "#CC79A7"  # soft purple, not an alarm red
PLANNED = "#555555"

FIG_SIZE = (10, 6.5)
DPI = 100
PLANNED_SHOWN_BEYOND = 1.25  # the planned end is drawn when within 1.25x the meeting's length
DATE_FMT = "%a %d %b %Y %H:%M"


@dataclass
class Meeting:
    """One stored meeting as a report shows it."""

    record: dict
    date_s: int | None = None
    partner: str | None = None
    note: str | None = None
    follow_up: bool | None = None


@dataclass
class Report:
    title: str
    figure: object
    numbers: dict[str, float | int | str | None] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # plain sentences for the terminal
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)  # (caption, head, rows)


def _plain(label: str | None) -> str:
    """A label as matplotlib shows it: control characters escaped, `$` not
    taken for mathematics."""
    return printable(label).replace("$", r"\$")


def _follow(f: bool | None) -> str:
    return {None: "not recorded", True: "agreed", False: "not agreed"}[f]


def cumulative_share(timeline: list[list[float]]) -> list[float | None]:
    """Initiator share of talk up to the end of each minute."""
    out: list[float | None] = []
    ini = par = 0.0
    for m in timeline:
        ini += m[0] + m[2]
        par += m[1] + m[2]
        out.append(ini / (ini + par) if ini + par else None)
    return out


def talker_table(rec: dict) -> tuple[list[str], list[list[str]]]:
    head = ["who", "direction", "talk", "share", "turns", "longest turn", "interruptions", "response gap"]
    rows = []
    for t in rec["talkers"]:
        az = t.get("azimuth_deg")
        gap = t.get("response_gap_s")
        rows.append([t.get("role", "?"), "not heard" if az is None else f"{az:.0f} deg", mmss(t.get("talk_s")),
                     pct(t.get("share")), str(t.get("turns") or 0), mmss(t.get("longest_monologue_s")),
                     str(t.get("interruptions") or 0), "-" if gap is None else f"{gap:.1f} s"])
    return head, rows


def session_report(rec: dict, partner: str | None = None, date_s: int | None = None, note: str | None = None,
                   follow_up: bool | None = None, dated: bool = True) -> Report:
    """The meeting plot: cumulative share against the band, who spoke each
    minute, heated passages; the planned end marked."""
    timeline = rec.get("timeline") or []
    target, band = rec.get("target_share", 0.3), rec.get("band", 0.05)
    share = rec["talkers"][0].get("share")
    duration_min = rec["duration_s"] / 60
    planned_min = (rec.get("pacing") or {}).get("meeting_s", 2400) / 60
    heat = rec.get("heat") or []
    when = date_text(date_s) if dated else ""
    title = "Meeting" + (f" with {printable(partner)}" if partner else "") + (f", {when}" if when else "")
    rep = Report(title, None, {
        "initiator_share_pct": None if share is None else round(100 * share, 1),
        "target_pct": round(100 * target),
        "duration_min": round(duration_min, 1),
        "planned_min": round(planned_min, 1),
        "heat_episodes": len(heat),
        "in_band_pct": None if in_band_share(rec) is None else round(100 * in_band_share(rec)),
    })
    rep.lines = [
        f"{title}: {mmss(rec['duration_s'])} of {planned_min:.0f} min planned, {ended_text(rec)}",
        f"initiator share {pct(share)} against target {pct(target)} +/- {100 * band:.0f}: "
        f"{verdict(share, target, band)}; time in band {in_band_text(rec)}",
        f"{plural(len(heat), 'heated passage')}; follow-up {_follow(follow_up)}"
        + (f"; note: {printable(note)}" if note else ""),
    ]
    hearing = hearing_text(rec)
    if hearing:
        rep.lines.append(hearing[0].upper() + hearing[1:])
    rep.tables.append(("The meeting", ["", ""], [
        ["session", rec["id"]], ["date", when or "-"], ["with", printable(partner) or "(no partner labelled)"],
        ["length", f"{mmss(rec['duration_s'])} of {planned_min:.0f} min planned"], ["ended", ended_text(rec)],
        ["initiator share", f"{pct(share)} (target {pct(target)} +/- {100 * band:.0f})"],
        ["against the band", verdict(share, target, band)], ["time in band", in_band_text(rec)],
        ["heated passages", str(len(heat))], ["follow-up", _follow(follow_up)], ["note", printable(note) or "-"],
    ] + ([["hearing", hearing]] if hearing else [])))
    rep.tables.append(("Each talker", *talker_table(rec)))

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=FIG_SIZE, dpi=DPI, sharex=True,
                                   gridspec_kw={"height_ratios": [3, 2]})
    # each minute's bar sits over its own minute; the last may be partial
    ends = [max(i + 0.05, min(i + 1.0, duration_min)) for i in range(len(timeline))]
    mids = [(i + end) / 2 for i, end in enumerate(ends)]
    widths = [0.8 * (end - i) for i, end in enumerate(ends)]
    ax1.axhspan(100 * (target - band), 100 * (target + band), color=BAND, alpha=0.2, label="target band")
    ax1.axhline(100 * target, color=BAND, lw=1)
    shares = cumulative_share(timeline)
    ax1.plot(ends, [None if s is None else 100 * s for s in shares], color=INITIATOR, lw=2, marker="o", ms=3,
             label="initiator share so far")
    for a, b in heat:
        for ax in (ax1, ax2):
            ax.axvspan(a / 60, b / 60, color=HEAT, alpha=0.25, label="heated" if ax is ax1 and a == heat[0][0] else None)
    right = max(duration_min, 0.5)
    if planned_min <= PLANNED_SHOWN_BEYOND * right:
        right = max(right, planned_min)
        for ax in (ax1, ax2):
            ax.axvline(planned_min, color=PLANNED, ls="--", lw=1)
        ax1.text(planned_min, 97, " planned end", color=PLANNED, fontsize=8, va="top",
                 ha="right" if planned_min >= 0.9 * right else "left")
        planned_note = "dashed: planned end"
    else:
        planned_note = f"planned {planned_min:.0f} min, beyond this meeting's end"
    ax1.set_xlim(0, right * 1.02)
    ax1.set_ylim(0, 100)
    ax1.set_ylabel("initiator share of talk (%)")
    ax1.set_title(f"{_plain(title)}\ninitiator {pct(share)} against {pct(target)}, "
                  f"{mmss(rec['duration_s'])} long, {plural(len(heat), 'heated passage')}", fontsize=11)
    ax1.legend(loc="upper left", fontsize=8)
    ini_s = [m[0] for m in timeline]
    par_s = [m[1] for m in timeline]
    ovl_s = [m[2] for m in timeline]
    ax2.bar(mids, ini_s, widths, color=INITIATOR, label="initiator")
    ax2.bar(mids, par_s, widths, bottom=ini_s, color=PARTNER, label="partner")
    ax2.bar(mids, ovl_s, widths, bottom=[a + b for a, b in zip(ini_s, par_s)], color=OVERLAP, label="both")
    ax2.set_ylim(0, 60)
    ax2.set_ylabel("seconds spoken in each minute")
    ax2.set_xlabel(f"minutes into the meeting ({planned_note})")
    ax2.legend(loc="upper left", fontsize=8, ncol=3)
    fig.tight_layout()
    rep.figure = fig
    return rep


def series_report(meetings: list[Meeting], partner: str) -> Report:
    """Meetings with one partner along their dates: share against the band,
    time in band, heated passages, follow-ups agreed."""
    dated = sorted((m for m in meetings if m.date_s is not None), key=lambda m: m.date_s or 0)
    undated = [m for m in meetings if m.date_s is None]
    recs = [m.record for m in meetings]
    target = recs[0].get("target_share", 0.3) if recs else 0.3
    band = recs[0].get("band", 0.05) if recs else 0.05
    shares = [r["talkers"][0].get("share") for r in recs]
    known = [s for s in shares if s is not None]
    in_band = [verdict(s, target, band) == "in band" for s in known]
    follow = sum(1 for m in meetings if m.follow_up)
    heat_total = sum(len(r.get("heat") or []) for r in recs)
    title = f"Meetings with {printable(partner)}"
    rep = Report(title, None, {
        "meetings": len(meetings),
        "mean_share_pct": round(100 * sum(known) / len(known), 1) if known else None,
        "in_band_meetings": sum(in_band),
        "heat_total": heat_total,
        "follow_ups": follow,
        "undated": len(undated),
    })
    span = ""
    if dated:
        first, last = date_text(dated[0].date_s, "%d %b %Y"), date_text(dated[-1].date_s, "%d %b %Y")
        span = f", {first}" if first == last else f", {first} to {last}"
    mean = rep.numbers["mean_share_pct"]
    rep.lines = [
        f"{title}: {plural(len(meetings), 'meeting')}{span}",
        f"initiator share {'-' if mean is None else f'{mean}%'} on average against target {pct(target)} "
        f"+/- {100 * band:.0f}; in band in {sum(in_band)} of {plural(len(known), 'meeting')}",
        f"{plural(heat_total, 'heated passage')}; follow-up agreed after {follow} of {plural(len(meetings), 'meeting')}",
    ]
    unheard = sum(1 for r in recs if hearing_text(r))
    if unheard:
        rep.lines.append(f"{unheard} of {plural(len(meetings), 'meeting')} could not be heard well enough to trust "
                         "their figures (a loud room, or a TV or music nearby)")
    if undated:
        rep.lines.append(f"{plural(len(undated), 'meeting')} of unknown date: in the table, not on the plot")
    rows = []
    for m in dated + undated:
        r = m.record
        s = r["talkers"][0].get("share")
        rows.append([date_text(m.date_s), mmss(r["duration_s"]), pct(s), verdict(s, target, band),
                     in_band_text(r).replace(" of the time after 5 minutes", ""), str(len(r.get("heat") or [])),
                     _follow(m.follow_up), r["id"], printable(m.note) or ""])
    rep.tables.append(("Each meeting", ["date", "length", "initiator share", "against the band", "time in band",
                                        "heated passages", "follow-up", "session", "note"], rows))

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=FIG_SIZE, dpi=DPI, sharex=True,
                                   gridspec_kw={"height_ratios": [3, 2]})
    when = [datetime.fromtimestamp(m.date_s or 0) for m in dated]
    d_shares = [m.record["talkers"][0].get("share") for m in dated]
    ax1.axhspan(100 * (target - band), 100 * (target + band), color=BAND, alpha=0.2, label="target band")
    ax1.axhline(100 * target, color=BAND, lw=1)
    pts = [(w, 100 * s) for w, s in zip(when, d_shares) if s is not None]
    if pts:
        ax1.plot([p[0] for p in pts], [p[1] for p in pts], color=INITIATOR, lw=1.5, alpha=0.6)
        colors = [BAND if verdict(p[1] / 100, target, band) == "in band" else INITIATOR for p in pts]
        ax1.scatter([p[0] for p in pts], [p[1] for p in pts], c=colors, s=36, zorder=3,
                    label="initiator share (green: in band)")
    agreed = [w for w, m in zip(when, dated) if m.follow_up]
    if agreed:
        ax1.scatter(agreed, [95] * len(agreed), marker="v", color=PLANNED, s=30, label="follow-up agreed")
    ax1.set_ylim(0, 100)
    ax1.set_ylabel("initiator share of talk (%)")
    ax1.set_title(f"{_plain(title)}: {plural(len(meetings), 'meeting')}{span}", fontsize=11)
    ax1.legend(loc="lower left", fontsize=8, ncol=3)
    tib = [in_band_share(m.record) for m in dated]
    left, right = _date_span(when)
    width = timedelta(days=_bar_days(when, (right - left).total_seconds() / 86_400))
    ax2.bar(when, [0 if t is None else 100 * t for t in tib], width, color=BAND, alpha=0.6,
            label="time in band (%, after minute 5)")
    for w, t in zip(when, tib):
        if t is None:
            ax2.text(w, 2, "n/a", ha="center", fontsize=7, color=PLANNED)
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("time in band (%)")
    axh = ax2.twinx()
    heat = [len(m.record.get("heat") or []) for m in dated]
    hot = [(w, h) for w, h in zip(when, heat) if h]
    axh.plot([w for w, _h in hot], [h for _w, h in hot], color=HEAT, marker="s", lw=0,
             label="heated passages (where any)")
    axh.set_ylim(0, max([3] + heat) + 1)
    axh.set_ylabel("heated passages", color=HEAT)
    axh.yaxis.get_major_locator().set_params(integer=True)
    lines1, labels1 = ax2.get_legend_handles_labels()
    lines2, labels2 = axh.get_legend_handles_labels()
    ax2.legend(lines1 + lines2, labels1 + labels2, loc="upper left", fontsize=8, ncol=2)
    if when:
        ax2.set_xlim(left, right)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax2.xaxis.set_major_locator(locator)
    ax2.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax2.set_xlabel("date of the meeting")
    fig.tight_layout()
    rep.figure = fig
    return rep


def _date_span(when: list[datetime]) -> tuple[datetime, datetime]:
    """The dates shown: every meeting, a margin each side, at least two weeks."""
    if not when:
        now = datetime.now()
        return now - timedelta(days=7), now + timedelta(days=7)
    pad = max(timedelta(days=7) - (when[-1] - when[0]) / 2, (when[-1] - when[0]) * 0.04, timedelta(days=1))
    return when[0] - pad, when[-1] + pad


def _bar_days(when: list[datetime], shown_days: float) -> float:
    """A bar width in days: thin against the dates shown, and narrower than
    the shortest gap between two meetings."""
    gaps = [(b - a).total_seconds() / 86_400 for a, b in zip(when, when[1:]) if b > a]
    return max(0.05, min([shown_days / 40] + [0.6 * g for g in gaps]))


def write_png(fig, path: str | Path) -> Path:
    path = Path(path)
    try:
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def _table(caption: str, head: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    key_value = head == ["", ""]
    out = [f"<table><caption>{e(caption)}</caption>"]
    if not key_value:
        out.append("<thead><tr>" + "".join(f"<th scope='col'>{e(h)}</th>" for h in head) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        if key_value:
            out.append(f"<tr><th scope='row'>{e(row[0])}</th><td>{e(row[1])}</td></tr>")
        else:
            out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222;"
        "background:#fff}h1{font-size:1.5em;margin-bottom:.2em}p.sum{margin:.2em 0;color:#333}"
        "img{width:100%;height:auto;border:1px solid #ddd;margin:1em 0}"
        "table{border-collapse:collapse;margin:1em 0;font-size:.95em}caption{text-align:left;font-weight:bold;"
        "padding:.3em 0}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
        "thead th{background:#f2f2f2}tbody tr:nth-child(even) td{background:#fafafa}"
        "td{white-space:nowrap}td:last-child{white-space:normal}")


def write_html(rep: Report, path: str | Path) -> Path:
    """One self-contained page: title, the sentences, the plot, the tables."""
    buf = io.BytesIO()
    try:
        rep.figure.savefig(buf, format="png")
    finally:
        plt.close(rep.figure)
    img = base64.b64encode(buf.getvalue()).decode("ascii")
    e = html.escape
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{e(rep.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{e(rep.title)}</h1>" + "".join(f"<p class='sum'>{e(line)}</p>" for line in rep.lines)
            + f"<img alt='{e(rep.title)}: plot' src='data:image/png;base64,{img}'>"
            + "".join(_table(*t) for t in rep.tables) + "</body></html>")
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path

