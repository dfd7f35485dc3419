# Sparse votes (a noisy room): a burst stays with its talker, a burst's
# first words go to its first vote, and a session resting on too few votes
# is marked unreliable. Under MicroPython.
from convsim import conversation
from tbfw import config, talker
from tbfw.session import IDLE, SESSION, Conversation

_LEVEL = -30 * 256  # dBFS * 256
_A_AZ = 40
_B_AZ = 220


def _learned_model():
    m = talker.TalkerModel()
    for turn in range(40):
        az = _A_AZ if turn % 2 == 0 else _B_AZ
        for _ in range(50):
            m.update(True, True, az, 200, _LEVEL)
        for _ in range(15):
            m.update(False, False, 0, 0, _LEVEL)
    assert m.learned, m.slot_az
    return m


def _slot_near(m, az):
    return talker.SLOT_A if talker.angle_diff(m.slot_az[0], az) < 20 else talker.SLOT_B


def test_a_burst_stays_with_its_talker_until_a_pause_however_long_since_the_vote():
    m = _learned_model()
    a = _slot_near(m, _A_AZ)
    assert m.update(True, True, _A_AZ, 200, _LEVEL) == a  # one vote after the pause decides
    got = [m.update(True, False, 0, 0, _LEVEL) for _ in range(200)]  # 4 s without a direction
    assert got == [a] * 200, got
    for _ in range(10):  # a pause (200 ms) ends the burst
        assert m.update(False, False, 0, 0, _LEVEL) == talker.NONE
    assert m.update(True, False, 0, 0, _LEVEL) == talker.UNKNOWN  # the next one: nobody's until a vote


def test_a_bursts_first_words_go_to_its_first_vote():
    conv = Conversation(config.merge_user({}), 20)
    for truth, speech, valid, a, conf, level in conversation(3, (_A_AZ, _B_AZ), 0.4, 120):
        conv.frame(speech, valid, a, conf, level, 0)
    assert conv.state == SESSION and conv.model.learned
    for _ in range(15):  # a pause
        conv.frame(False, False, 0, 0, _LEVEL, 0)
    t = conv.tally
    b = _slot_near(conv.model, _B_AZ) - talker.SLOT_A
    talk, unknown, turns = list(t.talk), t.unknown, list(t.turns)
    for _ in range(30):  # the first words, no direction yet
        assert conv.frame(True, False, 0, 0, _LEVEL, 0) == talker.UNKNOWN
    assert t.unknown == unknown + 30
    assert conv.frame(True, True, _B_AZ, 200, _LEVEL, 0) == b + talker.SLOT_A
    for _ in range(9):
        conv.frame(True, False, 0, 0, _LEVEL, 0)
    assert t.talk[b] == talk[b] + 40, (t.talk, talk)
    assert t.talk[1 - b] == talk[1 - b]
    assert t.unknown == unknown
    assert t.turns[1 - b] == turns[1 - b]  # credited words are no turn of their own
    # a burst that ends without a vote stays nobody's
    for _ in range(15):
        conv.frame(False, False, 0, 0, _LEVEL, 0)
    talk = list(t.talk)
    for _ in range(20):
        conv.frame(True, False, 0, 0, _LEVEL, 0)
    for _ in range(15):
        conv.frame(False, False, 0, 0, _LEVEL, 0)
    assert t.talk == talk and t.unknown == unknown + 20
    # the timeline holds the credited words too: its rows add up to each
    # talker's attributed speech without the overlap
    rec = conv.record()
    for col, t in enumerate(rec["talkers"]):
        rows = sum(row[col] for row in rec["timeline"])
        assert abs(rows - (t["talk_s"] + t["held_s"] - rec["overlap_s"])) < 0.1, (col, rows, t, rec["overlap_s"])


def _hearing(conf_rate, seed):
    """The conversation's record's `hearing`, and the share of its speech
    frames that carry a confident direction within the vote gate of a
    talker, counted from the generator's frames (the truth for `voted`)."""
    conv = Conversation(config.merge_user({}), 20)
    speech_frames = with_direction = 0
    for truth, speech, valid, a, conf, level in conversation(seed, (_A_AZ, _B_AZ), 0.35, 300,
                                                             conf_rate=conf_rate):
        conv.frame(speech, valid, a, conf, level, 0)
        if speech:
            speech_frames += 1
            if valid and conf >= conv.model.min_conf_q8 and \
                    min(talker.angle_diff(a, _A_AZ), talker.angle_diff(a, _B_AZ)) <= talker.GATE_DEG:
                with_direction += 1
    assert conv.model.learned
    return conv, conv.record()["hearing"], with_direction / speech_frames


def test_a_session_resting_on_too_few_votes_is_unreliable():
    for seed in (1, 2):
        conv, hearing, truth = _hearing(0.04, seed)  # about 1 speech frame in 25 with a direction
        assert conv.model.sparse and hearing["reliable"] is False, hearing
        assert abs(hearing["voted"] - truth) < 0.02, (hearing, truth)
        assert conv.hearing_low()
        conv, hearing, truth = _hearing(0.3, seed)
        assert not conv.model.sparse, (conv.model.votes, conv.model.heard)
        assert abs(hearing["voted"] - truth) < 0.02, (hearing, truth)


def _late(seed, late_s):
    """A conversation whose second talker (B) gives no direction for its
    first `late_s` seconds (far, quiet, in a noisy room), so both talkers
    are known only then: the session's record's `hearing`, and the share of
    its speech heard before then without a direction (shared out in
    proportion), counted from the generator's frames."""
    conv = Conversation(config.merge_user({}), 20)
    speech_frames = apportioned = 0
    f = 0
    for truth, speech, valid, a, conf, level in conversation(seed, (_A_AZ, _B_AZ), 0.35, 300):
        if truth == 2 and f < late_s * 50:
            valid, conf = False, 0
        f += 1
        pending = conv._prefix_pending
        conv.frame(speech, valid, a, conf, level, 0)
        if conv.state == IDLE:
            continue  # before the session's first words
        if speech:
            speech_frames += 1
            if pending and conv._prefix_pending and not (valid and conf >= conv.model.min_conf_q8):
                apportioned += 1
    assert conv.model.learned
    return conv, conv.record()["hearing"], apportioned / speech_frames


def test_a_session_whose_talkers_were_told_apart_late_is_unreliable():
    for seed in (1, 2):
        conv, hearing, truth = _late(seed, 100)
        assert conv.fold_frame > 90 * 50, conv.fold_frame  # B found only once it gave directions
        assert truth > 0.15 and abs(hearing["apportioned"] - truth) < 0.005, (hearing, truth)
        assert hearing["reliable"] is False and conv.hearing_low()
        conv, hearing, truth = _late(seed, 0)
        assert conv.fold_frame < 20 * 50, conv.fold_frame
        assert truth < 0.05 and abs(hearing["apportioned"] - truth) < 0.005, (hearing, truth)
        assert not conv.hearing_low()
