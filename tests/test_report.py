"""Report images: valid PNGs of the expected size whose numbers match the record."""

from __future__ import annotations

import struct

from records_fixture import make_record
from talkbalance import report
from talkbalance.cli import main
from talkbalance.localstore import LocalStore


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_session_report_png_and_numbers(tmp_path):
    rec = make_record(seed=4, seconds=300)
    fig, shown = report.session_figure(rec, "Sam")
    path = report.write_png(fig, tmp_path / "r.png")
    assert _png_size(path) == (report.FIG_SIZE[0] * report.DPI, report.FIG_SIZE[1] * report.DPI)
    assert shown.numbers["initiator_share_pct"] == round(100 * rec["talkers"][0]["share"], 1)
    assert shown.numbers["duration_min"] == round(rec["duration_s"] / 60, 1)
    assert shown.numbers["heat_episodes"] == len(rec["heat"])
    # the plotted cumulative share ends at the record's share
    assert abs(report.cumulative_share(rec["timeline"])[-1] - rec["talkers"][0]["share"]) < 0.01


def test_series_report_and_html(tmp_path, capsys):
    db = str(tmp_path / "s.db")
    recs = [make_record(seed=s, boot=s, share=0.2 + 0.05 * s, start=1_700_000_000 + s * 86400) for s in (1, 2, 3)]
    with LocalStore(db) as store:
        store.add_many(recs)
        for i, r in enumerate(recs):
            store.label(r["id"], partner="Sam", follow_up=i < 2)
    out = tmp_path / "series.png"
    assert main(["report", "--partner", "Sam", "--db", db, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert _png_size(out) == (1000, 650)
    mean = round(100 * sum(r["talkers"][0]["share"] for r in recs) / 3, 1)
    assert f"mean_share_pct: {mean}" in printed and "follow_ups: 2" in printed and "meetings: 3" in printed
    page = tmp_path / "one.html"
    assert main(["report", recs[0]["id"], "--db", db, "--html", "-o", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "data:image/png;base64," in text and "Sam" in text


def test_report_needs_exactly_one_target(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "s.db")]) == 1
    assert "give a session id or --partner" in capsys.readouterr().err
