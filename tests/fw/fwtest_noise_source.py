# A directional noise source (a TV, music) in the talker model, on
# frame-level conversations, under MicroPython.
# fw: heapsize=256k
from convsim import conversation
from tbfw import config, talker
from tbfw.session import Conversation


def _with_tv(frames, tv_az, level_q8, seed=5, heard_pct=80, voted_pct=60):
    # a TV at a fixed place: heard in `heard_pct` of the pauses (when the
    # talkers are silent), with a confident direction in `voted_pct` of
    # those frames
    state = seed
    for truth, speech, valid, a, conf, level in frames:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        if not speech and state % 100 < heard_pct:
            ok = state % 100 < voted_pct
            yield truth, True, ok, tv_az, 200 if ok else 0, level_q8
        else:
            yield truth, speech, valid, a, conf, level


def _run_tv(level_q8, seconds=240):
    cfg = config.merge_user({})
    conv = Conversation(cfg, 20)
    truth_talk = [0, 0]
    for truth, speech, valid, a, conf, level in _with_tv(conversation(3, (60, 200), 0.3, seconds), 300, level_q8):
        conv.frame(speech, valid, a, conf, level, 0)
        if truth:
            truth_talk[truth - 1] += 1
    return conv, truth_talk


def test_a_tv_15_db_under_the_talkers_is_noise_and_takes_no_share():
    conv, truth = _run_tv(-35 * 256)  # the talkers at -20 dBFS
    model = conv.model
    assert model.learned
    assert min(talker.angle_diff(a, 60) for a in model.slot_az) < 10
    assert min(talker.angle_diff(a, 200) for a in model.slot_az) < 10
    assert talker.angle_diff(model.noise_az, 300) < 10, model.noise_az
    rec = conv.record()
    ini, par = rec["talkers"]
    assert talker.angle_diff(ini["azimuth_deg"], 60) < 10  # the first voice, not the TV
    # the TV's frames (a third of the time) went to nobody: each talker's
    # time is within 5% of their true frames (hangover and carry aside)
    assert ini["talk_s"] <= truth[0] * 0.02 * 1.05 and par["talk_s"] <= truth[1] * 0.02 * 1.05, (rec, truth)
    assert rec["hearing"]["reliable"] is True and rec["hearing"]["attributed"] >= 0.9
    # the record says how far under the talkers it was (levels in 2 dB steps)
    assert 13 <= rec["hearing"]["noise_source_db"] <= 17, rec["hearing"]


def test_a_tv_as_loud_as_the_talkers_makes_the_session_unreliable():
    conv, _truth = _run_tv(-20 * 256)
    rec = conv.record()
    assert conv.model.crowded
    assert rec["hearing"]["reliable"] is False


def test_a_tv_heard_more_than_a_talker_but_quieter_is_noise_not_a_talker():
    # 3 dB under the talkers, the TV in most pauses is heard more often than
    # the quieter talker (share 0.3): it is the quietest of three sources,
    # so it is the noise and both people are found
    conv, truth = _run_tv(-23 * 256)
    model = conv.model
    assert min(talker.angle_diff(a, 60) for a in model.slot_az) < 10, model.slot_az
    assert min(talker.angle_diff(a, 200) for a in model.slot_az) < 10, model.slot_az
    assert talker.angle_diff(model.noise_az, 300) < 10, model.noise_az
    rec = conv.record()
    ini, par = rec["talkers"]
    assert talker.angle_diff(ini["azimuth_deg"], 60) < 10
    share = truth[0] / (truth[0] + truth[1])
    assert abs(ini["share"] - share) < 0.03, (ini["share"], share)
    # but that near the talkers' level it would mask much of the quieter
    # one's speech in a room: the session is not to be trusted
    assert model.noise_near and not model.crowded
    assert conv.hearing_low()
    assert rec["hearing"]["reliable"] is False
    assert 1 <= rec["hearing"]["noise_source_db"] <= 5, rec["hearing"]


def test_a_tv_7_db_under_the_talkers_is_noise_and_the_session_heard_well():
    conv, truth = _run_tv(-27 * 256)
    model = conv.model
    assert talker.angle_diff(model.noise_az, 300) < 10, model.noise_az
    assert not model.noise_near and not model.crowded
    rec = conv.record()
    ini = rec["talkers"][0]
    share = truth[0] / (truth[0] + truth[1])
    assert abs(ini["share"] - share) < 0.03, (ini["share"], share)
    assert rec["hearing"]["reliable"] is True
    assert 5 <= rec["hearing"]["noise_source_db"] <= 9, rec["hearing"]


def _tv_where(frames, tv_az, when, level_q8=None):
    # the frames for which when(n, truth, speech) holds take the TV's
    # direction, at level_q8 or at the frame's own level
    n = 0
    for truth, speech, valid, a, conf, level in frames:
        n += 1
        if when(n, truth, speech):
            yield truth, True, True, tv_az, 200, level if level_q8 is None else level_q8
        else:
            yield truth, speech, valid, a, conf, level


def _beside_talker(frames, tv_az, level_q8):
    # a TV as loud as the talkers, 15 degrees from one of them (closer than
    # the talker model can tell apart), heard in every pause
    return _tv_where(frames, tv_az, lambda n, truth, speech: not speech, level_q8)


def test_a_tv_beside_a_talker_filling_the_pauses_makes_the_session_unreliable():
    cfg = config.merge_user({})
    conv = Conversation(cfg, 20)
    for truth, speech, valid, a, conf, level in _beside_talker(conversation(3, (60, 200), 0.3, 240), 215, -20 * 256):
        conv.frame(speech, valid, a, conf, level, 0)
    assert conv.model.learned and not conv.model.crowded  # not found as a third source
    assert conv.hearing_low()
    rec = conv.record()
    assert rec["silence_s"] < 0.03 * rec["duration_s"], rec["silence_s"]
    assert rec["hearing"]["reliable"] is False


def test_a_conversation_with_its_pauses_is_heard_well():
    cfg = config.merge_user({})
    conv = Conversation(cfg, 20)
    for truth, speech, valid, a, conf, level in conversation(3, (60, 200), 0.3, 240):
        conv.frame(speech, valid, a, conf, level, 0)
    assert not conv.hearing_low()
    hearing = conv.record()["hearing"]
    assert hearing["reliable"] is True and hearing["noise_source_db"] is None


def _masked(frames, tv_az, every=8):
    # within the talkers' words, every 8th frame takes the TV's direction
    # (the TV louder than the talker for that moment)
    return _tv_where(frames, tv_az, lambda n, truth, speech: speech and truth and n % every == 0)


def test_a_frame_of_the_noise_source_mid_word_stays_with_the_talker():
    cfg = config.merge_user({})
    conv = Conversation(cfg, 20)
    truth_talk = [0, 0]
    frames = _with_tv(_masked(conversation(3, (60, 200), 0.3, 240), 300), 300, -35 * 256)
    for truth, speech, valid, a, conf, level in frames:
        conv.frame(speech, valid, a, conf, level, 0)
        if truth:
            truth_talk[truth - 1] += 1
    assert talker.angle_diff(conv.model.noise_az, 300) < 10, conv.model.noise_az
    ini, par = conv.record()["talkers"]
    # no more than the hangover and carry lost or gained: within 5% of the truth
    for t, own in ((ini, truth_talk[0]), (par, truth_talk[1])):
        assert abs(t["talk_s"] - own * 0.02) <= own * 0.02 * 0.05, (t["talk_s"], own * 0.02)


def _quiet_word_ends(frames, level_q8, count=3):
    # the last `count` frames of each word are its quiet end: at level_q8,
    # without a direction
    held = []
    for frame in frames:
        held.append(frame)
        if not frame[1]:  # a pause: the frames before it end a word
            for i in range(max(0, len(held) - 1 - count), len(held) - 1):
                truth, speech, valid, a, conf, level = held[i]
                held[i] = (truth, speech, False, a, 0, level_q8)
            yield from held
            held = []
        elif len(held) > count:
            yield held.pop(0)
    yield from held


def test_the_quiet_end_of_a_word_under_a_known_noise_source_stays_with_the_talker():
    # the talkers at -20 dBFS end each word 12 dB under that, past the
    # 10 dB under the quieter talker where the level test gives a frame to
    # the TV; the TV, 15 dB under them, fills the pauses
    def talk():
        return _quiet_word_ends(conversation(3, (60, 200), 0.3, 240), -32 * 256)

    conv, truth_talk = _with_music(talk(), 300, -35 * 256)  # the TV in the pauses
    ends = sum(1 for frame in talk() if frame[0] and frame[5] == -32 * 256)
    assert talker.angle_diff(conv.model.noise_az, 300) < 10, conv.model.noise_az
    assert ends * 10 > (truth_talk[0] + truth_talk[1]), ends  # over a tenth of the talk
    ini, par = conv.record()["talkers"]
    for t, own in ((ini, truth_talk[0]), (par, truth_talk[1])):
        assert abs(t["talk_s"] - own * 0.02) <= own * 0.02 * 0.05, (t["talk_s"], own * 0.02)


def _with_music(talk, music_az, music_q8, before_frames=0, **heard):
    # a conversation (`talk`, convsim frames) with music at `music_az` in
    # its pauses (_with_tv's `heard_pct`, `voted_pct`) and alone for
    # `before_frames` before anyone speaks: the session, and each talker's
    # true frames
    conv = Conversation(config.merge_user({}), 20)
    truth_talk = [0, 0]
    for frames in ([(0, False, False, -1, 0, -60 * 256)] * before_frames, talk):
        for truth, speech, valid, a, conf, level in _with_tv(frames, music_az, music_q8, **heard):
            conv.frame(speech, valid, a, conf, level, 0)
            if truth:
                truth_talk[truth - 1] += 1
    return conv, truth_talk


def _listener_and_music(music_az, music_q8=-27 * 256, seconds=600, before_s=0):
    # the initiator (60 degrees) says 5-10 s, the partner (200) talks for
    # one to three minutes, and music 7 dB under them plays in 80% of the
    # pauses (and for `before_s` before anyone speaks)
    talk = conversation(9, (60, 200), 0.06, seconds, pair_s=125.0)
    return _with_music(talk, music_az, music_q8, before_s * 50)


def test_an_initiator_who_listens_for_minutes_keeps_her_place_against_music():
    # while she listens her peak fades (the histogram's half-life is 44 s
    # of speech) and the music's does not: it must not take her slot
    conv, truth = _listener_and_music(300)
    assert min(talker.angle_diff(a, 60) for a in conv.model.slot_az) < 10, conv.model.slot_az
    _music_known_and_share_right(conv, truth, 300)


def _music_known_and_share_right(conv, truth, music_az, ini_az=60):
    assert talker.angle_diff(conv.model.noise_az, music_az) < 10, conv.model.noise_az
    rec = conv.record()
    ini = rec["talkers"][0]
    assert talker.angle_diff(ini["azimuth_deg"], ini_az) < 10, rec["talkers"]
    share = truth[0] / (truth[0] + truth[1])
    assert abs(ini["share"] - share) < 0.02, (ini["share"], share)


def test_music_before_anyone_speaks_does_not_make_its_neighbour_the_initiator():
    # music 35 degrees from where the partner will sit plays for a second
    # before the initiator speaks: until the partner talks it is the second
    # source, and the first votes are its; when his slot moves onto him the
    # roles are bound again, from the first votes near each talker (music
    # playing for longer before, all of the earliest votes are the music's
    # and who spoke first is not known: docs/frontend.md)
    conv, truth = _listener_and_music(235, seconds=300, before_s=1)
    rec = conv.record()
    ini, par = rec["talkers"]
    assert rec["initiator_bound_by"] == "first"
    assert talker.angle_diff(ini["azimuth_deg"], 60) < 10, rec["talkers"]
    assert talker.angle_diff(par["azimuth_deg"], 200) < 15, rec["talkers"]


def test_music_beside_a_talker_stays_the_noise_source_when_its_peak_merges():
    # music 35 degrees from the partner: in some searches its peak is on the
    # shoulder of his and not found; it is still known, and its frames stay
    # nobody's
    conv, truth = _listener_and_music(235, seconds=600)
    _music_known_and_share_right(conv, truth, 235)


def test_a_talker_who_moves_and_is_quieter_is_followed_not_taken_for_noise():
    # after two minutes the initiator moves 40 degrees round the table and
    # sits further away (3 dB quieter): her old place, where the model
    # knew her, must not keep her slot and make her new one the noise
    conv = Conversation(config.merge_user({}), 20)
    truth = [0, 0]
    n = 0
    for t, speech, valid, a, conf, level in conversation(4, (60, 200), 0.4, 480):
        n += 1
        if n > 120 * 50 and t == 1:
            a = (a + 40) % 360
            level -= 3 * 256
        conv.frame(speech, valid, a, conf, level, 0)
        if t:
            truth[t - 1] += 1
    assert min(talker.angle_diff(az, 100) for az in conv.model.slot_az) < 10, conv.model.slot_az
    rec = conv.record()
    share = truth[0] / (truth[0] + truth[1])
    assert abs(rec["talkers"][0]["share"] - share) < 0.02, (rec["talkers"][0]["share"], share)
    assert rec["hearing"]["reliable"] is True, rec["hearing"]


def test_music_between_the_talkers_nearer_each_than_two_talkers_may_be_is_the_noise():
    # the talkers 90 degrees apart (70 and 160) and music between them (115
    # degrees, 45 from each) 4 dB under them, heard in every pause and for
    # half a second before anyone speaks: it is the first source found and
    # outweighs both talkers, neither of whom is the 60 degrees from it that
    # a second talker must be. Of the three sources it is the quietest, so
    # it is the noise, and the session starts with both people (rather than
    # listening until it gives up)
    conv, truth = _with_music(conversation(6, (70, 160), 0.4, 200), 115, -24 * 256, 25,
                              heard_pct=100, voted_pct=90)
    model = conv.model
    smooth = model._smooth  # the last peak search's window sums
    assert smooth[115 // 5] > max(smooth[70 // 5], smooth[160 // 5]), "the music does not outweigh the talkers"
    assert conv.state_name() == "session", conv.state_name()
    assert min(talker.angle_diff(a, 70) for a in model.slot_az) < 10, model.slot_az
    assert min(talker.angle_diff(a, 160) for a in model.slot_az) < 10, model.slot_az
    _music_known_and_share_right(conv, truth, 115, ini_az=70)


def _music_first_then_talk(seconds, before_s=10):
    # music by a wall (300 degrees) 7 dB under the talkers, alone for
    # `before_s` and then in the pauses of a conversation (initiator 60,
    # partner 200)
    conv, truth = _with_music(conversation(6, (60, 200), 0.3, seconds), 300, -27 * 256, before_s * 50)
    return conv, truth[0] / (truth[0] + truth[1])


def test_roles_bound_without_knowing_who_spoke_first_make_the_session_unreliable():
    # the music's votes are all of the earliest ones, and none is near
    # either person: who spoke first is not known, and the roles the rule
    # gives are a guess. Here the guess is right, but the music was learned
    # as a talker first and its time stayed in that slot: the share reads
    # 8.8 points high, and the record must not say it heard well
    conv, share = _music_first_then_talk(200)
    rec = conv.record()
    assert rec["initiator_bound_by"] == "first"
    assert abs(rec["talkers"][0]["share"] - share) > 0.05, (rec["talkers"][0]["share"], share)
    assert rec["hearing"]["reliable"] is False, rec["hearing"]
    # a second of music before the first words leaves enough of them near
    # the talkers: the first speaker is known and the session heard well
    conv, share = _music_first_then_talk(200, before_s=1)
    rec = conv.record()
    assert abs(rec["talkers"][0]["share"] - share) < 0.02, (rec["talkers"][0]["share"], share)
    assert rec["hearing"]["reliable"] is True, rec["hearing"]
