"""The conversation figures' truth (talkbalance.figures) on hand-made plans
with answers worked out by hand, on generated plans (invariants), on the
simulator's own plans (the definitions give back the plan's labels), and
the shape of `evaluate`'s scores of them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from talkbalance import figures, scenesim, scoring
from talkbalance.errors import InputError

STEP = 0.02  # s per frame


def make_truth(duration_s: float, utterances: list[tuple]) -> dict:
    """A truth from utterances (role, [(start_s, end_s) of speech, ...], kind):
    the segment spans the speech; frames from the speech."""
    count = round(duration_s / STEP)
    on = {"initiator": [False] * count, "partner": [False] * count}
    segments = []
    for role, pieces, kind in utterances:
        for a, b in pieces:
            for i in range(round(a / STEP), round(b / STEP)):
                on[role][i] = True
        segments.append([pieces[0][0], pieces[-1][1], role, kind])
    codes = "".join(str(int(i) + 2 * int(p)) for i, p in zip(on["initiator"], on["partner"]))
    segments.sort(key=lambda s: (s[0], s[2]))
    return {"frames": codes, "frame_ms": 20, "segments": segments, "duration_s": duration_s}


# initiator opens (a pause inside), the partner says "mm-hm" over it, replies
# after 0.5 s, is interrupted 1 s before the end, and replies after 0.8 s
HAND = make_truth(20.0, [
    ("initiator", [(1.0, 3.0), (3.4, 6.0)], "turn"),
    ("partner", [(2.0, 2.4)], "backchannel"),
    ("partner", [(6.5, 12.0)], "turn"),
    ("initiator", [(11.0, 15.0)], "interruption"),
    ("partner", [(15.8, 17.0)], "turn"),
])


def test_hand_plan_every_figure():
    f = figures.figures(HAND)
    ini, par = f.talker("initiator"), f.talker("partner")
    assert ini.talk_s == pytest.approx(2.0 + 2.6 + 4.0)
    assert par.talk_s == pytest.approx(0.4 + 5.5 + 1.2)
    assert f.overlap_s == pytest.approx(0.4 + 1.0)            # the backchannel and the interruption
    assert (ini.turns, ini.interruptions) == (2, 1)
    assert (par.turns, par.interruptions) == (2, 0)           # the backchannel is no turn
    assert ini.longest_monologue_s == pytest.approx(5.0)      # 1.0-6.0, its pause included
    assert par.longest_monologue_s == pytest.approx(5.5)
    assert ini.response_gap_s is None                         # opened, then interrupted
    assert par.response_gap_s == pytest.approx((0.5 + 0.8) / 2)


def test_hand_plan_turns_in_order():
    got = [(t.who, round(t.start * STEP, 2), round(t.end * STEP, 2), t.interruption) for t in figures.turns(HAND)]
    assert got == [(0, 1.0, 6.0, False), (1, 6.5, 12.0, False), (0, 11.0, 15.0, True), (1, 15.8, 17.0, False)]


def test_the_same_person_twice_is_one_turn():
    truth = make_truth(10.0, [("initiator", [(1.0, 3.0)], "turn"), ("initiator", [(4.0, 6.0)], "turn"),
                              ("partner", [(6.3, 8.0)], "turn")])
    f = figures.figures(truth)
    assert f.talker("initiator").turns == 1
    assert f.talker("initiator").longest_monologue_s == pytest.approx(5.0)
    assert f.talker("partner").response_gap_s == pytest.approx(0.3)


def test_a_short_reply_after_the_other_finished_is_a_turn_not_a_backchannel():
    truth = make_truth(10.0, [("initiator", [(1.0, 5.0)], "turn"), ("partner", [(5.6, 6.0)], "turn"),
                              ("initiator", [(6.5, 9.0)], "turn")])
    f = figures.figures(truth)
    assert (f.talker("partner").turns, f.talker("partner").response_gap_s) == (1, pytest.approx(0.6))
    assert f.talker("initiator").turns == 2


def test_a_long_utterance_over_the_other_is_an_interruption_not_a_backchannel():
    # 1.5 s of speech said over the other's turn: more than a backchannel
    truth = make_truth(12.0, [("initiator", [(1.0, 10.0)], "turn"), ("partner", [(4.0, 5.5)], "interruption")])
    f = figures.figures(truth)
    assert (f.talker("partner").turns, f.talker("partner").interruptions) == (1, 1)
    assert f.overlap_s == pytest.approx(1.5)


def test_a_backchannel_at_the_limit_and_just_over():
    at = make_truth(10.0, [("initiator", [(1.0, 8.0)], "turn"), ("partner", [(3.0, 3.8)], "backchannel")])
    over = make_truth(10.0, [("initiator", [(1.0, 8.0)], "turn"), ("partner", [(3.0, 3.82)], "interruption")])
    assert figures.figures(at).talker("partner").turns == 0
    assert figures.figures(over).talker("partner").turns == 1


def test_nobody_spoke():
    f = figures.figures({"frames": "0" * 100, "frame_ms": 20, "segments": []})
    assert f.overlap_s == 0 and all(t == figures.TalkerFigures(0.0, 0, 0, 0.0, None) for t in f.talkers)


@pytest.mark.parametrize("bad", [
    {"frames": "01x2", "frame_ms": 20, "segments": []},
    {"frames": 7, "frame_ms": 20, "segments": []},
    {"frames": "0", "frame_ms": 0, "segments": []},
    {"frames": "0", "frame_ms": True, "segments": []},
    {"frames": "0", "frame_ms": 20, "segments": {}},
    {"frames": "0", "frame_ms": 20, "segments": [[1.0, 0.5, "initiator", "turn"]]},
    {"frames": "0", "frame_ms": 20, "segments": [[0.0, 0.5, "host", "turn"]]},
    {"frames": "0", "frame_ms": 20, "segments": [["a", 0.5, "partner", "turn"]]},
    {"frames": "0", "frame_ms": 20, "segments": [[0.0]]},
])
def test_a_bad_truth_is_a_user_error(bad):
    with pytest.raises(InputError):
        figures.figures(bad)


# --- generated plans -----------------------------------------------------

@st.composite
def plans(draw):
    """Utterances of either person anywhere (overlapping, nested, back to
    back), each with its speech and at most one pause."""
    count = draw(st.integers(0, 12))
    frames_total = draw(st.integers(50, 1500))
    utts = []
    for _ in range(count):
        role = draw(st.sampled_from(figures.ROLES))
        a = draw(st.integers(0, frames_total - 2))
        b = draw(st.integers(a + 1, min(frames_total, a + 400)))
        pieces = [(a * STEP, b * STEP)]
        if b - a >= 3 and draw(st.booleans()):
            p = draw(st.integers(a + 1, b - 2))
            q = draw(st.integers(p + 1, b - 1))
            pieces = [(a * STEP, p * STEP), (q * STEP, b * STEP)]
        utts.append((role, pieces, "turn"))
    return make_truth(frames_total * STEP, utts)


@settings(max_examples=300, deadline=None)
@given(plans())
def test_invariants_on_generated_plans(truth):
    duration = len(truth["frames"]) * STEP
    f = figures.figures(truth)
    for t in f.talkers:
        assert 0 <= t.talk_s <= duration + 1e-9
        assert 0 <= t.interruptions <= t.turns
        assert 0 <= t.longest_monologue_s <= duration + 1e-9
        assert t.response_gap_s is None or 0 <= t.response_gap_s <= duration   # back to back: 0
        assert t.turns == 0 or t.longest_monologue_s > 0
    assert f.overlap_s <= min(t.talk_s for t in f.talkers) + 1e-9
    assert sum(t.talk_s for t in f.talkers) - f.overlap_s <= duration + 1e-9
    turns = figures.turns(truth)
    assert abs(f.talkers[0].turns - f.talkers[1].turns) <= 1       # the floor alternates
    assert all(a.who != b.who for a, b in zip(turns, turns[1:]))
    assert not turns or not turns[0].interruption
    assert all(a.start <= b.start for a, b in zip(turns, turns[1:]))
    # a turn's speech is its talker's: its first and last frames are theirs
    for t in turns:
        mine = ("13", "23")[t.who]
        assert truth["frames"][t.start] in mine and truth["frames"][t.end - 1] in mine


# --- the simulator's plans -------------------------------------------------

@pytest.mark.parametrize("seed", [4, 9])
def test_the_definitions_give_back_the_simulators_labels(seed):
    conv = scenesim.converse(scenesim.SceneConfig(seed=seed, minutes=3, heat=2, voices="synthetic"))
    truth = {"frames": conv.frames, "frame_ms": scenesim.FRAME_MS, "segments": conv.segments}
    step = scenesim.FRAME_MS / 1000
    utts = figures.utterances(truth)
    labelled = sorted(((int(s[0] / step), figures.ROLES.index(s[2])), s[3]) for s in conv.segments)
    assert len(utts) == len(labelled)
    others = {w: [u for u in utts if u.who == w] for w in (0, 1)}
    kinds = {}
    for u in utts:
        kinds[u] = "backchannel" if figures.is_backchannel(u, others[1 - u.who], step) else "turn"
    assert sum(k == "backchannel" for k in kinds.values()) == sum(s[3] == "backchannel" for s in conv.segments) > 0
    turns = figures.turns(truth)
    labels = [s[3] for s in conv.segments if s[3] != "backchannel"]
    assert [t.interruption for t in turns] == [k == "interruption" for k in labels]
    assert any(t.interruption for t in turns)
    f = figures.figures(truth)
    assert (f.talkers[0].talk_s, f.talkers[1].talk_s) == pytest.approx(scenesim.talk_seconds(conv.frames), abs=1e-6)


# --- evaluate's scores of the figures ---------------------------------------

def _record(truth_figs: figures.Figures, talk_scale: float = 1.0, extra_interruptions: int = 0) -> dict:
    talkers = []
    for role, t in zip(figures.ROLES, truth_figs.talkers):
        talkers.append({"role": role, "azimuth_deg": 90 if role == "initiator" else 270, "share": 0.5,
                        "talk_s": t.talk_s * talk_scale, "turns": t.turns,
                        "interruptions": t.interruptions + extra_interruptions,
                        "longest_monologue_s": t.longest_monologue_s + 0.5, "response_gap_s": t.response_gap_s})
    return {"talkers": talkers, "overlap_s": truth_figs.overlap_s / 2, "heat": []}


def _scene_truth() -> dict:
    truth = dict(HAND)
    truth.update({"talkers": [{"role": "initiator", "azimuth_deg": 90}, {"role": "partner", "azimuth_deg": 270}],
                  "initiator_share": 0.5})
    return truth


def test_score_gives_each_figures_signed_errors():
    truth = _scene_truth()
    s = scoring.score("hand", _record(figures.figures(truth), 1.1, extra_interruptions=1), truth["frames"], truth)
    assert set(s.figures) == set(scoring.FIGURES)
    for name, (_unit, per, _target) in scoring.FIGURES.items():
        assert len(s.figures[name]) == (2 if per == "talker" else 1)
    assert s.figures["talk_time"] == [pytest.approx(10.0), pytest.approx(10.0)]
    assert s.figures["turns"] == [0.0, 0.0]
    assert s.figures["longest_monologue"] == [0.5, 0.5]
    assert s.figures["interruptions"] == [200.0]            # 3 read (one more each) against 1 true
    assert s.figures["response_gap"] == [None, 0.0]         # the initiator has no gap on either side
    assert s.figures["overlap"] == [-50.0]
    assert s.figures_true["partner"]["turns"] == 2 and s.figures_read["initiator"]["interruptions"] == 2


def test_no_session_reads_every_figure_as_nothing():
    truth = _scene_truth()
    s = scoring.score("none", {}, "0" * len(truth["frames"]), truth)
    assert s.figures["talk_time"] == [-100.0, -100.0]
    assert s.figures["turns"] == [-100.0, -100.0]
    assert s.figures["response_gap"] == [None, None]
    assert s.share is None


def test_summary_median_and_worst_and_its_outputs():
    truth = _scene_truth()
    figs = figures.figures(truth)
    scores = [scoring.score(f"s{k}", _record(figs, scale), truth["frames"], truth)
              for k, scale in enumerate((1.02, 0.95, 1.3))]
    summary = scoring.summarise(scores)
    talk = summary.figures["talk_time"]
    assert talk["median"] == pytest.approx(5.0) and talk["worst"] == pytest.approx(30.0)
    assert (talk["count"], talk["missing"], talk["unit"], talk["target"]) == (6, 0, "%", 4.0)
    assert talk["worst_scene"] == "s2"
    assert summary.figures["response_gap"]["missing"] == 3
    assert summary.figures["overlap"]["worst"] == -50.0
    assert set(summary.figures) == set(scoring.FIGURES)
    table = scoring.scores_text(scores, summary)
    assert "talk time (per person)" in table and "NOT met" in table and "+30.0%" in table
    data = json.loads(scoring.to_json(scores, summary))
    assert data["summary"]["figures"]["turns"]["median"] == 0.0
    assert data["scenes"][2]["figures"]["talk_time"] == [30.0, 30.0]
    assert "docs/record.md" in scoring.markdown(scores, summary, "talkbalance evaluate")


# --- reading a truth file --------------------------------------------------

def _scene_file_truth() -> dict:
    """HAND as `talkbalance scene` writes it: with the talkers and the share."""
    return dict(HAND, talkers=[{"role": "initiator", "azimuth_deg": 90.0}, {"role": "partner", "azimuth_deg": 270.0}],
                initiator_share=0.4, heat=[[1.0, 2.0]])


def test_read_truth_gives_back_a_scene_truth(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_scene_file_truth()))
    assert scoring.read_truth(path) == _scene_file_truth()


@pytest.mark.parametrize("change, words", [
    ({"talkers": [{"role": "initiator", "azimuth_deg": 90.0}]}, "'talkers'"),
    ({"talkers": [{"role": "initiator", "azimuth_deg": 90.0}, {"role": "partner"}]}, "'talkers'"),
    ({"talkers": [{"role": "initiator", "azimuth_deg": 1}, {"role": "initiator", "azimuth_deg": 2}]}, "'talkers'"),
    ({"initiator_share": 1.5}, "'initiator_share'"),
    ({"initiator_share": True}, "'initiator_share'"),
    ({"heat": [[1.0]]}, "'heat'"),
    ({"frames": "0129"}, "'frames'"),
    ({"segments": [[1, "x"]]}, "segment"),
])
def test_a_truth_file_missing_what_scoring_reads_is_named(tmp_path, change, words):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(dict(_scene_file_truth(), **change)))
    with pytest.raises(InputError) as err:
        scoring.read_truth(path)
    assert str(path) in str(err.value) and words in str(err.value)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)


@given(st.one_of(_JSON, st.dictionaries(st.sampled_from(["talkers", "initiator_share", "heat", "frames", "frame_ms",
                                                         "segments"]), _JSON)),
       st.sampled_from(["talkers", "initiator_share", "heat", "frames", "frame_ms", "segments", None]))
@settings(max_examples=300, deadline=None)
def test_any_json_is_a_truth_or_a_user_error(value, spoil):
    import tempfile
    from pathlib import Path
    # a whole truth with one field replaced by anything, or anything at all
    data = dict(_scene_file_truth(), **{spoil: value}) if spoil else value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.json"
        path.write_text(json.dumps(data))
        try:
            truth = scoring.read_truth(path)
        except InputError as exc:
            assert str(path) in str(exc)
        else:
            assert truth == data
            scoring.score("t", {}, "", truth)  # what scoring then reads from it works


def test_voice_activity_recall_is_counted_for_each_person_alone():
    truth = _scene_truth()
    truth["frames"] = "0011112222330"  # 4 frames the initiator alone, 4 the partner alone, 2 both
    heard = "0010202222220"            # 2 of the initiator's heard (one as the partner), all 4 of the partner's
    s = scoring.score("roles", {}, heard, truth)
    assert s.vad_recall_by_role == {"initiator": 0.5, "partner": 1.0}
    assert s.vad_recall == 0.8  # 8 of the 10 speech frames, overlap included
    nobody = scoring.score("none", {}, "0" * 13, dict(truth, frames="0000000000000"))
    assert nobody.vad_recall_by_role == {"initiator": None, "partner": None}
