"""Plots of one meeting and of a series of meetings with the same person.

Each figure function returns the matplotlib figure and the numbers it shows
(`Shown`), so tests can check that what a person reads matches the record.
PNG by default; `write_html` makes a self-contained page (images inline).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from talkbalance.text import printable

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

INITIATOR = "#0072B2"  # Okabe-Ito blue
PARTNER = "#E69F00"  # Okabe-Ito orange
OVERLAP = "#999999"
BAND = "#009E73"  # green band
HEAT = "#CC79A7"  # soft purple, not an alarm red

FIG_SIZE = (10, 6.5)
DPI = 100


@dataclass
class Shown:
    title: str
    numbers: dict[str, float | int | str | None] = field(default_factory=dict)


def _plain(label: str) -> str:
    """A label as matplotlib shows it: control characters escaped, `$` not
    taken for mathematics."""
    return printable(label).replace("$", r"\$")


def cumulative_share(timeline: list[list[float]]) -> list[float | None]:
    """Initiator share of talk up to the end of each minute."""
    out: list[float | None] = []
    ini = par = 0.0
    for m in timeline:
        ini += m[0] + m[2]
        par += m[1] + m[2]
        out.append(ini / (ini + par) if ini + par else None)
    return out


def session_figure(rec: dict, label: str | None = None):
    timeline = rec.get("timeline") or []
    target, band = rec.get("target_share", 0.3), rec.get("band", 0.05)
    ini = rec["talkers"][0]
    share = ini.get("share")
    title = f"Meeting {rec['id']}" + (f" with {_plain(label)}" if label else "")
    shown = Shown(title, {
        "initiator_share_pct": None if share is None else round(100 * share, 1),
        "target_pct": round(100 * target),
        "duration_min": round(rec["duration_s"] / 60, 1),
        "heat_episodes": len(rec.get("heat", [])),
        "in_band_pct": None if rec.get("in_band_share") is None else round(100 * rec["in_band_share"]),
    })
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=FIG_SIZE, dpi=DPI, sharex=True,
                                   gridspec_kw={"height_ratios": [3, 2]})
    minutes = [i + 1 for i in range(len(timeline))]
    shares = cumulative_share(timeline)
    ax1.axhspan(100 * (target - band), 100 * (target + band), color=BAND, alpha=0.2, label="target band")
    ax1.axhline(100 * target, color=BAND, lw=1)
    ax1.plot(minutes, [None if s is None else 100 * s for s in shares], color=INITIATOR, lw=2,
             marker="o", ms=3, label="initiator share (cumulative)")
    for a, b in rec.get("heat", []):
        ax1.axvspan(a / 60, b / 60, color=HEAT, alpha=0.25)
        ax2.axvspan(a / 60, b / 60, color=HEAT, alpha=0.25)
    meeting_min = rec.get("pacing", {}).get("meeting_s", 2400) / 60
    for ax in (ax1, ax2):
        ax.axvline(meeting_min, color="#555555", ls="--", lw=1)
    ax1.set_ylim(0, 100)
    ax1.set_ylabel("initiator share of talk (%)")
    summary = ("-" if share is None else f"{100 * share:.1f}%") + f" vs target {100 * target:.0f}%"
    ax1.set_title(f"{title}: initiator {summary}, {rec['duration_s'] / 60:.1f} min, "
                  f"{len(rec.get('heat', []))} heated passage(s)", fontsize=11)
    ax1.legend(loc="upper right", fontsize=8)
    width = 0.8
    ini_s = [m[0] for m in timeline]
    par_s = [m[1] for m in timeline]
    ovl_s = [m[2] for m in timeline]
    ax2.bar(minutes, ini_s, width, color=INITIATOR, label="initiator")
    ax2.bar(minutes, par_s, width, bottom=ini_s, color=PARTNER, label="partner")
    ax2.bar(minutes, ovl_s, width, bottom=[a + b for a, b in zip(ini_s, par_s)], color=OVERLAP, label="both")
    ax2.set_ylabel("seconds spoken per minute")
    ax2.set_xlabel("minute of the meeting (dashed: planned end)")
    ax2.legend(loc="upper right", fontsize=8, ncol=3)
    fig.tight_layout()
    return fig, shown


def series_figure(sessions: list[dict], partner: str, follow_ups: list[bool | None]):
    """Share, heat and length across meetings with one partner."""
    n = len(sessions)
    shares = [s["talkers"][0].get("share") for s in sessions]
    heat = [len(s.get("heat", [])) for s in sessions]
    durations = [s["duration_s"] / 60 for s in sessions]
    target = sessions[0].get("target_share", 0.3) if sessions else 0.3
    band = sessions[0].get("band", 0.05) if sessions else 0.05
    shown = Shown(f"Meetings with {_plain(partner)}", {
        "meetings": n,
        "mean_share_pct": round(100 * sum(s for s in shares if s is not None) / max(1, sum(s is not None for s in shares)), 1),
        "heat_total": sum(heat),
        "follow_ups": sum(1 for f in follow_ups if f),
    })
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=FIG_SIZE, dpi=DPI, sharex=True)
    x = list(range(1, n + 1))
    ax1.axhspan(100 * (target - band), 100 * (target + band), color=BAND, alpha=0.2, label="target band")
    ax1.plot(x, [None if s is None else 100 * s for s in shares], color=INITIATOR, marker="o", lw=2,
             label="initiator share")
    for i, f in enumerate(follow_ups):
        if f is not None:
            ax1.annotate("follow-up" if f else "no follow-up", (x[i], 5), ha="center", fontsize=7)
    ax1.set_ylim(0, 100)
    ax1.set_ylabel("initiator share (%)")
    ax1.set_title(f"{shown.title}: {n} meeting(s), mean share {shown.numbers['mean_share_pct']}%", fontsize=11)
    ax1.legend(loc="upper right", fontsize=8)
    ax2.bar(x, durations, color="#56B4E9", label="length (min)")
    ax2.plot(x, heat, color=HEAT, marker="s", lw=0, label="heated passages")
    ax2.set_xlabel("meeting")
    ax2.set_xticks(x)
    ax2.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig, shown


def write_png(fig, path: str | Path) -> Path:
    path = Path(path)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def write_html(fig, shown: Shown, path: str | Path, rows: list[tuple[str, str]] | None = None) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    img = base64.b64encode(buf.getvalue()).decode("ascii")
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in (rows or [(k, v) for k, v in shown.numbers.items()]))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(shown.title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
            "th{text-align:left;padding-right:1em}</style></head><body>"
            f"<h1>{html.escape(shown.title)}</h1><img alt='report' src='data:image/png;base64,{img}' width='100%'>"
            f"<table>{table}</table></body></html>")
    path = Path(path)
    path.write_text(page)
    return path
