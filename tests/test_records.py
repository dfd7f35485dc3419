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


def test_a_record_that_could_not_hear_well_says_so_in_words_everywhere():
    from talkbalance import liveview, meetingreport

    rec = make_record(seed=3, share=0.3, seconds=420)
    assert rec["hearing"]["reliable"] is True  # a clean simulated session
    assert records.hearing_text(rec) is None
    assert "could not hear" not in records.format_record(rec)
    rec["hearing"] = {"snr_db": 2, "attributed": 0.612, "reliable": False}
    text = records.hearing_text(rec)
    assert text.startswith("could not hear well enough to trust these figures")
    assert "about 2 dB over the noise" in text and "61% of the speech told apart" in text
    assert "  " + text in records.format_record(rec).splitlines()
    rep = meetingreport.session_report(rec)
    assert any(line.lower().startswith("could not hear well") for line in rep.lines)
    assert ["hearing", text] in rep.tables[0][2]
    for wrong in (float("nan"), -3, 1.5, True, "61%"):  # a damaged or hostile record: no figure from it
        rec["hearing"] = {"snr_db": 2, "attributed": wrong, "voted": wrong, "reliable": False}
        assert "told apart" not in records.hearing_text(rec)
        assert "direction" not in records.hearing_text(rec)
    rec["hearing"] = {"snr_db": 14, "attributed": 0.99, "noise_source_db": 2, "reliable": False}  # a loud TV
    assert "a sound from one place about 2 dB under the quieter voice" in records.hearing_text(rec)
    for wrong in (None, 2.5, True, "2 dB"):
        rec["hearing"]["noise_source_db"] = wrong
        assert "one place" not in records.hearing_text(rec)
    rec["hearing"] = {"snr_db": 5, "attributed": 0.8, "voted": 0.084, "reliable": False}
    assert "a speaker's direction in only 8% of it" in records.hearing_text(rec)
    rec["hearing"]["voted"] = 0.3  # enough: not given as a reason
    assert "direction" not in records.hearing_text(rec)
    rec["hearing"]["apportioned"] = 0.221  # the two voices told apart late
    assert "22% of it heard before the two voices were told apart and shared out in proportion" in \
        records.hearing_text(rec)
    for few in (0.15, 0.02, None, float("nan"), "22%", True):  # within bounds, or not a share: no reason
        rec["hearing"]["apportioned"] = few
        assert "told apart and" not in records.hearing_text(rec)
    rec["hearing"]["mic_lost_s"] = round(rec["duration_s"] / 2, 2)  # a microphone lost half way
    assert f"a microphone out for {records.mmss(rec['duration_s'] / 2)} of it" in records.hearing_text(rec)
    for few in (0.0, round(rec["duration_s"] / 25, 2), None, float("nan"), "5 s", True):
        rec["hearing"]["mic_lost_s"] = few
        assert "microphone" not in records.hearing_text(rec)
    del rec["hearing"]  # older records say nothing about it
    assert records.hearing_text(rec) is None
    line = liveview.numbers({"state": "session", "share_pm": 300, "elapsed_s": 60, "hearing_low": True})
    assert "can't hear well" in line
    assert "hear" not in liveview.numbers({"state": "session", "share_pm": 300, "elapsed_s": 60, "hearing_low": False})
