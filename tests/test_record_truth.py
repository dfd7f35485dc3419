"""Every figure of a record against a truth computed another way: the record
checker (talkbalance.recordcheck, independent of the firmware's code) on
generated records and on every scene of the evaluation suite, and each
scene's in-band share against the one its ground truth gives."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records_fixture import make_record
from talkbalance import analysis, recordcheck, scenecache, scenesim

EVAL_SCENES = 20  # docs/evaluation.md: talkbalance evaluate --scenes 20 --minutes 10
EVAL_MINUTES = 10.0
TARGET, BAND = 0.30, 0.05  # the default config


def true_in_band_share(truth: dict, target: float = TARGET, band: float = BAND) -> float | None:
    """From a scene's ground truth: of the whole seconds after minute 5
    (counted from the first speech), the fraction at whose end the
    initiator's cumulative share of talk lies within target +/- band."""
    return in_band_of_codes(truth["frames"], 1000 // truth["frame_ms"], target, band)


def in_band_of_codes(frames: str, fps: int, target: float = TARGET, band: float = BAND) -> float | None:
    """The same from per-frame codes: 0 silence, 1 initiator, 2 partner,
    3 both, 4 speech nobody was credited with (the scene's truth, or the
    pipeline's own attribution that `analyze --frames` prints)."""
    first = next((i for i, c in enumerate(frames) if c != "0"), None)
    if first is None:
        return None
    ini = par = 0
    inside = seconds = 0
    for n, code in enumerate(frames[first:], start=1):
        ini += code in "13"
        par += code in "23"
        if n % fps == 0 and n // fps > 300:
            seconds += 1
            share = ini / (ini + par) if ini + par else -1.0
            inside += target - band - 1e-9 <= share <= target + band + 1e-9
    return inside / seconds if seconds else None


# -- generated records ---------------------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1, 10_000), share=st.floats(0.1, 0.9), seconds=st.integers(20, 900),
       heat=st.booleans(), target=st.integers(10, 60), band=st.integers(1, 20),
       rule=st.sampled_from(["first", "second"]), meeting=st.integers(10, 30))
def test_generated_records_pass_the_checker(seed, share, seconds, heat, target, band, rule, meeting):
    cfg = {"target_share_pct": target, "band_pct": band, "initiator_rule": rule, "meeting_min": meeting,
           "end_silence_s": 60}
    rec = make_record(seed=seed, share=share, seconds=seconds, heat=heat, cfg=cfg)
    assert recordcheck.check(rec) == [], rec


def test_the_checker_finds_each_kind_of_disagreement():
    rec = make_record(seed=3, share=0.3, seconds=420, heat=True)
    assert recordcheck.check(rec) == []

    def problems(**changes):
        bad = json.loads(json.dumps(rec))
        for path, value in changes.items():
            *where, key = path.split("__")
            node = bad
            for part in where:
                node = node[int(part)] if part.isdigit() else node[part]
            node[int(key) if key.isdigit() else key] = value
        return {p.invariant for p in recordcheck.check(bad)}

    ini = rec["talkers"][0]
    assert problems(talkers__0__share=round(ini["share"] + 0.05, 4)) == {"shares"}
    assert "totals" in problems(silence_s=rec["silence_s"] + 5)
    assert problems(timeline__2__0=rec["timeline"][2][0] + 3) == {"timeline"}
    assert problems(in_band_s=rec["duration_s"] - 200, in_band_share=1.0) == {"in band"}
    assert problems(in_band_s=None) == {"in band"}
    assert problems(heat=[[10.0, rec["duration_s"] + 60]]) == {"heat"}
    assert "times" in problems(overlap_s=-1.0)
    # a target changed under the figures (the record of issue #14)
    assert problems(target_share=0.4) == {"settings"}
    assert problems(config__meeting_min=45) == {"settings"}
    short = make_record(seed=3, seconds=200)
    short["in_band_s"], short["in_band_share"] = 0.0, None
    assert {p.invariant for p in recordcheck.check(short)} == {"in band"}
    # how well it heard (a record from the firmware's own session engine)
    assert isinstance(rec["hearing"]["reliable"], bool)
    heard = ini["talk_s"] + rec["talkers"][1]["talk_s"] - rec["overlap_s"]
    assert rec["hearing"]["attributed"] == pytest.approx(heard / (heard + rec["unknown_s"]), abs=0.002)
    assert problems(hearing__attributed=round(rec["hearing"]["attributed"] - 0.1, 3)) == {"hearing"}
    assert problems(hearing__attributed=0.5, hearing__reliable=True) == {"hearing"}
    assert problems(hearing__snr_db=1, hearing__reliable=True) == {"hearing"}
    assert problems(hearing__snr_db=1.5) == {"hearing"}
    assert problems(hearing__reliable="yes") == {"hearing"}
    assert problems(hearing=None) == {"hearing"}
    assert problems(talkers__1__azimuth_deg=None, hearing__reliable=True) == {"hearing"}
    assert 0.1 <= rec["hearing"]["voted"] <= 1  # a clean scene: its speech mostly has a talker's direction
    assert problems(hearing__voted=0.05, hearing__reliable=True) == {"hearing"}
    assert problems(hearing__voted=0.05, hearing__reliable=False) == set()
    for wrong in (1.5, -0.1, "10%", True):
        assert problems(hearing__voted=wrong) == {"hearing"}
    assert 0 <= rec["hearing"]["apportioned"] <= 0.15  # its talkers were found in the first seconds
    assert problems(hearing__apportioned=0.2, hearing__reliable=True) == {"hearing"}
    assert problems(hearing__apportioned=0.2, hearing__reliable=False) == set()
    for wrong in (1.5, -0.1, "10%", True, float("nan")):
        assert problems(hearing__apportioned=wrong) == {"hearing"}
    assert rec["hearing"]["mic_lost_s"] == 0  # every microphone worked throughout
    lost = round(0.06 * rec["duration_s"], 2)
    assert problems(hearing__mic_lost_s=lost, hearing__reliable=True) == {"hearing"}
    assert problems(hearing__mic_lost_s=lost, hearing__reliable=False) == set()
    assert problems(hearing__mic_lost_s=round(0.04 * rec["duration_s"], 2), hearing__reliable=True) == set()
    for wrong in (-1, "10 s", True, float("inf")):
        assert problems(hearing__mic_lost_s=wrong) == {"hearing"}
    # a noise source at one place, whole dB under the quieter talker (null: none known)
    for fine in (None, 3, 12, -1):
        assert problems(hearing__noise_source_db=fine) == set()
    for wrong in (2.5, "3 dB", True, float("nan")):
        assert problems(hearing__noise_source_db=wrong) == {"hearing"}
    # the same time with nobody's pauses in it (a voice filling them, heard as
    # unknown speech): under 3% of the session silent is never reliable
    filled = round(rec["unknown_s"] + rec["silence_s"] - 0.02 * rec["duration_s"], 2)
    unpaused = json.loads(json.dumps(rec))
    unpaused.update(silence_s=round(rec["silence_s"] + rec["unknown_s"] - filled, 2), unknown_s=filled)
    unpaused["hearing"].update(attributed=int(1000 * heard / (heard + filled)) / 1000, reliable=False)
    assert recordcheck.check(unpaused) == []
    unpaused["hearing"]["reliable"] = True
    why = [p.detail for p in recordcheck.check(unpaused) if p.invariant == "hearing"]
    assert len(why) == 1 and "silence_s" in why[0], why
    unpaused["silence_s"] = round(0.04 * rec["duration_s"], 2)  # 4% silent: that alone is no objection
    assert "silence_s" not in " ".join(p.detail for p in recordcheck.check(unpaused))
    assert problems(hearing__reliable=False) == set()  # flagging is always allowed
    older = json.loads(json.dumps(rec))
    del older["hearing"]  # records from before it was added
    assert recordcheck.check(older) == []
    # the hangover's frames at the noise floor: in the share (talk_s plus
    # held_s), not in talk time; records from before held_s have none
    assert all(t["held_s"] == 0 for t in rec["talkers"])
    held = json.loads(json.dumps(rec))
    for t, moved in zip(held["talkers"], (3.0, 1.5)):
        t["talk_s"], t["held_s"] = round(t["talk_s"] - moved, 2), moved
    assert recordcheck.check(held) == []
    assert {p.invariant for p in recordcheck.check(dict(held, talkers=[
        dict(held["talkers"][0], held_s=0.0), held["talkers"][1]]))} == {"shares", "totals", "timeline"}
    assert {p.invariant for p in recordcheck.check(dict(held, talkers=[
        dict(held["talkers"][0], held_s=-1.0), held["talkers"][1]]))} >= {"times"}
    for t in older["talkers"]:
        del t["held_s"]
    assert recordcheck.check(older) == []


# -- the evaluation suite --------------------------------------------------------

def _scene(seed: int) -> tuple[Path, dict]:
    wav, truth = scenecache.ensure_scene(scenecache.default_cache(), seed, EVAL_MINUTES)
    return wav, json.loads(truth.read_text())


@functools.cache
def _analysed(seed: int) -> tuple[dict, dict]:
    wav, truth = _scene(seed)
    return analysis.analyze(wav).longest(), truth


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, EVAL_SCENES + 1))
def test_every_evaluation_scene_passes_the_checker(seed):
    rec, _truth = _analysed(seed)
    assert recordcheck.check(rec) == []
    assert rec["in_band_s"] is not None  # ten minutes: past minute 5


# Scenes whose initiator share sits within the share error of a band edge:
# seed 3 reads 25.0% for a true 22.6% (the edge is 25%), seed 14 34.5% for
# 31.1% (edge 35%), seed 18 24.5% for 26.6% (docs/evaluation.md). Where the
# cumulative share hovers at an edge, a share error of 2 to 4 points moves
# most of the seconds after minute 5 across it.
EDGE_SCENES = {3: "reads 2.4 pts high at the 25% edge", 14: "reads 3.4 pts high near the 35% edge",
               18: "reads 2.0 pts low near the 25% edge"}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [
    pytest.param(seed, marks=pytest.mark.xfail(strict=True, reason=f"share error at a band edge: {EDGE_SCENES[seed]}"))
    if seed in EDGE_SCENES else seed for seed in range(1, EVAL_SCENES + 1)])
def test_in_band_share_within_a_tenth_of_the_truth_on_every_evaluation_scene(seed):
    rec, truth = _analysed(seed)
    want = true_in_band_share(truth)
    assert want is not None and rec["in_band_share"] is not None
    assert abs(rec["in_band_share"] - want) <= 0.1, (rec["in_band_share"], want)


# -- the initiator at 28-32%, in either slot ------------------------------------

SPY = """
import sys
sys.path.insert(0, sys.argv[1])
from tbfw import session
_record = session.Conversation.record
def _with_slot(self, now_s=None, timeline=True):
    rec = _record(self, now_s, timeline)
    rec["test_initiator_slot"] = self.initiator_slot
    return rec
session.Conversation.record = _with_slot
exec(open({main!r}).read())
"""


def _analyze_with_slot(wav: Path, cfg: dict, tmp: Path, monkeypatch) -> tuple[dict, int]:
    """`analyze` itself, its firmware program (mp/analyze_main.py) run with
    the talker-model slot the initiator was bound to added to each record."""
    spy = tmp / "analyze_spy.py"
    spy.write_text(SPY.format(main=str(analysis.MAIN)))
    with monkeypatch.context() as m:
        m.setattr(analysis, "MAIN", spy)
        rec = analysis.analyze(wav, overrides=cfg).longest()
    assert rec is not None
    return rec, rec.pop("test_initiator_slot")


def _steady(seed: int, first: str, tmp: Path) -> tuple[Path, dict]:
    """A ten-minute conversation with the initiator at 30%."""
    cfg = scenesim.SceneConfig(seed=seed, minutes=10.0, share=0.30, first=first, initiator_az_deg=60.0,
                            partner_az_deg=230.0, rt60_s=0.3, snr_db=20.0, heat=0)
    wav = tmp / f"steady-{seed}-{first}.wav"
    truth_path = scenesim.write(scenesim.render(cfg), wav, tmp / f"steady-{seed}-{first}.json")
    return wav, json.loads(Path(truth_path).read_text())


@pytest.mark.slow
def test_an_initiator_at_28_to_32_percent_is_in_band_in_either_slot(tmp_path, monkeypatch):
    """Issue #14's case: in-band time was counted for slot 0, whoever that
    was. The initiator speaking first (rule "first") and speaking second
    (rule "second") end up in different talker-model slots; both are in
    band nearly all the time after minute 5."""
    slots = {}
    for first, rule in (("initiator", "first"), ("partner", "second")):
        wav, truth = _steady(7, first, tmp_path)
        assert abs(truth["initiator_share"] - 0.30) <= 0.02
        assert true_in_band_share(truth) >= 0.95  # the truth stays at 28-32% after minute 5
        rec, slot = _analyze_with_slot(wav, {"initiator_rule": rule}, tmp_path, monkeypatch)
        print(f"first={first} rule={rule}: slot {slot}, share {rec['talkers'][0]['share']}, "
              f"in_band_share {rec['in_band_share']}")
        assert rec["initiator_bound_by"] == rule
        assert rec["in_band_share"] >= 0.9, rec
        assert recordcheck.check(rec) == []
        slots[slot] = rec["in_band_share"]
    assert sorted(slots) == [0, 1], slots



# -- sync runs the checker --------------------------------------------------------

def test_sync_checks_every_record_warns_and_keeps_it(tmp_path, capsys):
    from ptydevice import PtyDevice
    from talkbalance.cli import main

    import talkbalance.fw  # noqa: F401  isort: skip
    from tbfw import store  # noqa: E402  isort: skip

    flash = store.Store(str(tmp_path / "flash"))
    good = make_record(seed=1, seconds=400, device="tb-test", boot=1)
    bad = make_record(seed=2, seconds=400, device="tb-test", boot=2)
    bad["target_share"] = 0.4  # counted against 30%, claims 40%
    for rec in (good, bad):
        flash.add(rec["id"], json.dumps(rec).encode())
    flash.close()
    db = str(tmp_path / "local.sqlite3")
    with PtyDevice(str(tmp_path / "flash")) as rig:
        assert main(["sync", "--port", rig.path, "--db", db, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["checked"] == 2 and result["new"] == 2 and result["acked"] == 2
    assert [p["id"] for p in result["check_problems"]] == [bad["id"]]
    assert f"talkbalance: record {bad['id']}: its figures disagree (kept" in err and "settings: target_share" in err
    assert good["id"] not in err


_BASE = json.dumps(make_record(seed=5, seconds=320))


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20),
       st.sampled_from(["talkers", "timeline", "heat", "config", "pacing", "duration_s", "in_band_s",
                        "overlap_s", "start", "boot", "hearing"]))
def test_the_checker_never_fails_on_any_value(value, key):
    rec = json.loads(_BASE)
    rec[key] = value
    problems = recordcheck.check(rec)
    assert all(isinstance(p, recordcheck.Problem) for p in problems)
    assert recordcheck.check(value) is not None


@settings(max_examples=300, deadline=None)
@given(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5) | st.lists(st.integers(), max_size=2),
       st.sampled_from(["snr_db", "attributed", "voted", "apportioned", "mic_lost_s", "noise_source_db", "reliable"]))
def test_any_value_in_hearing_is_checked_and_said_without_failing(value, key):
    # a damaged or hostile record: the checker names what is wrong, and
    # show's words about hearing come out without a figure it cannot read
    from talkbalance import records

    rec = json.loads(_BASE)
    rec["hearing"].update({"reliable": False, key: value})
    assert all(isinstance(p, recordcheck.Problem) for p in recordcheck.check(rec))
    text = records.hearing_text(rec)
    assert text is None or text.startswith("could not hear well enough")
    for shown in ("nan", "inf", "None", "True", "False"):
        assert text is None or shown not in text, text


def test_the_checkers_hearing_thresholds_are_the_firmwares():
    # the checker judges `hearing.reliable` independently of the firmware's
    # code, but by the same documented thresholds (docs/record.md)
    from talkbalance.fw import session as fw_session
    from talkbalance.fw import sessionrecord, talker

    assert round(recordcheck.HEARD_MIN * 1000) == talker.HEARD_MIN_PM
    assert round(recordcheck.PAUSE_MIN * 1000) == talker.PAUSE_MIN_PM
    assert round(recordcheck.VOTED_MIN * 1000) == talker._VOTED_MIN_PM
    assert round(recordcheck.APPORTIONED_MAX * 1000) == fw_session._APPORTIONED_MAX_PM
    assert round(recordcheck.MIC_LOST_MAX * 1000) == sessionrecord.MIC_LOST_MAX_PM
    assert recordcheck.SNR_MIN_DB == sessionrecord.SNR_MIN_DB
