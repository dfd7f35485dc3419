"""Host summaries of a record: in-band time and the in-band verdict."""

from __future__ import annotations

from records_fixture import make_record
from talkbalance import records


def test_a_session_under_five_minutes_shows_in_band_as_not_applicable():
    rec = make_record(seconds=200)
    assert rec["in_band_s"] is None and rec["in_band_share"] is None
    assert records.in_band_share(rec) is None
    assert records.in_band_text(rec) == records.IN_BAND_NA == "n/a (under 5 minutes)"
    assert "in band n/a (under 5 minutes)" in records.format_record(rec)
    # a record from older firmware said 0 s and null for the same thing
    assert records.in_band_text(dict(rec, in_band_s=0.0)) == records.IN_BAND_NA


def test_in_band_text_gives_share_and_time():
    rec = make_record(seconds=420)
    assert rec["in_band_s"] is not None
    text = records.in_band_text(rec)
    assert text.startswith(f"{100 * rec['in_band_share']:.0f}% of the time after 5 minutes (")


def test_verdict_uses_the_firmware_definition_at_the_edges():
    assert records.verdict(0.25, 0.3, 0.05) == "in band"
    assert records.verdict(0.35, 0.3, 0.05) == "in band"
    assert records.verdict(0.351, 0.3, 0.05) == "over"
    assert records.verdict(0.249, 0.3, 0.05) == "under"
    assert records.verdict(None, 0.3, 0.05) == "-"
