"""Reports: PNGs of the expected size whose plots and numbers match the
records (checked against the records, not against the report's own sums);
the meeting plot spans the meeting; the series plot puts one point per
meeting on its date; the HTML page is self-contained and a real headless
browser renders it (skipped when no Chromium is installed)."""

from __future__ import annotations

import os
import re
import struct
from datetime import datetime

import headless
import matplotlib.dates as mdates
import numpy as np
import pytest
from PIL import Image
from records_fixture import make_record
from talkbalance import meetingreport
from talkbalance.cli import main
from talkbalance.localstore import LocalStore

DAY = 86_400
START = 1_767_600_000


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_session_report_png_numbers_and_talkers(tmp_path):
    rec = make_record(seed=4, seconds=300)
    rep = meetingreport.session_report(rec, "Sam", START, "a note", True)
    path = meetingreport.write_png(rep.figure, tmp_path / "r.png")
    assert _png_size(path) == (meetingreport.FIG_SIZE[0] * meetingreport.DPI, meetingreport.FIG_SIZE[1] * meetingreport.DPI)
    assert rep.numbers["initiator_share_pct"] == round(100 * rec["talkers"][0]["share"], 1)
    assert rep.numbers["duration_min"] == round(rec["duration_s"] / 60, 1)
    assert rep.numbers["heat_episodes"] == len(rec["heat"])
    # the plotted cumulative share ends at the record's share
    assert abs(meetingreport.cumulative_share(rec["timeline"])[-1] - rec["talkers"][0]["share"]) < 0.01
    head, rows = meetingreport.talker_table(rec)
    assert [r[0] for r in rows] == ["initiator", "partner"] and head[0] == "who"
    for row, t in zip(rows, rec["talkers"]):
        assert row[3] == f"{100 * t['share']:.0f}%" and row[4] == str(t["turns"])
    assert "follow-up agreed; note: a note" in rep.lines[2]


@pytest.mark.parametrize("seconds, planned_in_view", [(180, False), (2280, True), (2520, True)])
def test_meeting_plot_spans_the_meeting(seconds, planned_in_view):
    rec = make_record(seed=5, seconds=seconds)
    rep = meetingreport.session_report(rec)
    ax_share, ax_talk = rep.figure.axes[:2]
    left, right = ax_share.get_xlim()
    minutes = rec["duration_s"] / 60
    planned = rec["pacing"]["meeting_s"] / 60
    assert left == 0
    dashed = [ln for ln in ax_talk.get_lines() if ln.get_linestyle() == "--"]
    if planned_in_view:
        assert right == pytest.approx(1.02 * max(minutes, planned))
        assert [ln.get_xdata()[0] for ln in dashed] == [planned]
    else:  # a 3-minute meeting fills the width; the planned 40 minutes are named, not drawn
        assert right == pytest.approx(1.02 * minutes)
        assert dashed == [] and "planned 40 min" in ax_talk.get_xlabel()
    bars = ax_talk.patches
    assert len(bars) == 3 * len(rec["timeline"]) and max(b.get_x() + b.get_width() for b in bars) <= minutes
    meetingreport.plt.close(rep.figure)


def _series_db(tmp_path, n, undated=0):
    db = str(tmp_path / "s.db")
    recs = [make_record(seed=s + 1, boot=s + 1, share=0.2 + 0.3 * s / max(1, n - 1), seconds=360,
                        start=START + s * 9 * DAY) for s in range(n)]
    recs += [make_record(seed=90 + s, boot=90 + s, seconds=60, clock_set=False, uptime_s=5) for s in range(undated)]
    with LocalStore(db) as store:
        store.add_many(recs)
        for i, r in enumerate(recs):
            store.label(r["id"], partner="Sam", follow_up=i % 2 == 0)
    return db, recs


@pytest.mark.parametrize("n", [1, 3, 30])
def test_series_one_point_per_meeting_on_its_date(tmp_path, n, capsys):
    db, recs = _series_db(tmp_path, n, undated=1)
    out = tmp_path / "series.png"
    assert main(["report", "--partner", "sam", "--db", db, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert _png_size(out) == (1000, 650)
    shares = [r["talkers"][0]["share"] for r in recs]
    assert f"{round(100 * sum(shares) / len(shares), 1)}% on average" in printed
    follow = sum(1 for i in range(len(recs)) if i % 2 == 0)
    assert f"follow-up agreed after {follow} of {len(recs)} meeting" in printed
    assert "1 meeting of unknown date: in the table, not on the plot" in printed
    assert "None" not in printed and "_" not in printed.replace(str(out), "")

    with LocalStore(db) as store:
        rows = store.all("Sam")
    meetings = [meetingreport.Meeting(r.record, r.date_s, r.partner, r.note, r.follow_up) for r in rows]
    rep = meetingreport.series_report(meetings, "Sam")
    ax_share = rep.figure.axes[0]
    points = ax_share.collections[-2] if any(m.follow_up for m in meetings if m.date_s) else ax_share.collections[-1]
    xy = points.get_offsets()
    assert len(xy) == n  # one point per dated meeting
    got_days = sorted(float(x) for x in np.asarray(xy)[:, 0])
    want_days = [mdates.date2num(datetime.fromtimestamp(START + s * 9 * DAY)) for s in range(n)]
    assert got_days == pytest.approx(want_days)
    assert sorted(np.asarray(xy)[:, 1]) == pytest.approx(sorted(100 * s for s in shares[:n]))
    left, right = (mdates.num2date(x).replace(tzinfo=None) for x in rep.figure.axes[1].get_xlim())
    assert (right - left).days >= 14  # one meeting is a point in two weeks, not a bar across the page
    meetingreport.plt.close(rep.figure)


def test_html_is_self_contained_and_readable(tmp_path):
    db, recs = _series_db(tmp_path, 3)
    with LocalStore(db) as store:
        store.label(recs[0]["id"], note="<b>not bold</b> & kept")
    page = tmp_path / "one.html"
    assert main(["report", recs[0]["id"], "--db", db, "--html", "-o", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("<!doctype html>") and text.count("data:image/png;base64,") == 1
    assert not re.search(r"(src|href)=['\"](?!data:)", text) and "http" not in text.replace("http-equiv", "")
    assert "None" not in text and "initiator_share" not in text
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; kept" in text
    assert "<caption>Each talker</caption>" in text and "<th scope='col'>interruptions</th>" in text


@pytest.mark.parametrize("which", ["session", "series"])
def test_html_report_renders_in_a_headless_browser(tmp_path, which):
    try:
        headless.find()
    except headless.NoBrowser as exc:
        if os.environ.get("TALKBALANCE_REQUIRE_TOOLS"):  # CI: setup installs it
            raise
        pytest.skip(str(exc))
    db, recs = _series_db(tmp_path, 4)
    page = tmp_path / "r.html"
    args = [recs[1]["id"]] if which == "session" else ["--partner", "Sam"]
    assert main(["report", *args, "--db", db, "--html", "-o", str(page)]) == 0
    shot = headless.screenshot(page, tmp_path / "shot.png", width=1100, height=1400)
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape == (1400, 1100, 3)
    ink = (img.sum(axis=2) < 600).mean()  # share of pixels that are not near-white
    assert ink > 0.03, f"the page looks blank ({ink:.3%} ink)"
    # the plot's own colours reached the screen: the talkers' bars, or the
    # meetings' points (blue off the band, green in it)
    want = {meetingreport.INITIATOR: 200, meetingreport.PARTNER: 200} if which == "session" else \
        {meetingreport.INITIATOR: 40, meetingreport.BAND: 15}
    for colour, pixels in want.items():
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(img - rgb).sum(axis=2) < 40).sum() > pixels, colour


def test_report_needs_exactly_one_target(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "s.db")]) == 1
    assert "give a session id or --partner" in capsys.readouterr().err
