# Tally floor model: turns, backchannels, interruptions, response gaps, under MicroPython.
from tbfw import talker
from tbfw.tally import Tally

A, B, N, BOTH = talker.SLOT_A, talker.SLOT_B, talker.NONE, talker.BOTH


def _feed(t, pattern):
    """pattern: list of (code, seconds) or (code, seconds, voiced)."""
    for step in pattern:
        voiced = step[2] if len(step) > 2 else True
        for _ in range(int(step[1] * 50 + 0.5)):
            t.add(step[0], -20 * 256, voiced)


def test_turns_after_pauses_are_not_interruptions():
    t = Tally(20, 300, 50)
    _feed(t, [(A, 5), (N, 0.5), (B, 4), (N, 1.0), (A, 3)])
    assert t.turns == [2, 1]
    assert t.interruptions == [0, 0]
    assert t.changes == 2
    assert t.median_gap_ms(1) == 500 + 50  # 100 ms bins, centre of the bin
    assert t.median_gap_ms(0) == 1000 + 50


def test_backchannel_then_pause_then_turn_is_a_turn_not_an_interruption():
    t = Tally(20, 300, 50)
    # B says "mm-hm" (0.4 s) while A talks, A goes on, stops; B answers after 0.6 s
    _feed(t, [(A, 3), (B, 0.4), (A, 2), (N, 0.6), (B, 3)])
    assert t.turns == [1, 1]
    assert t.interruptions == [0, 0]
    assert t.median_gap_ms(1) == 600 + 50


def test_starting_while_the_other_talks_and_taking_the_floor_is_an_interruption():
    t = Tally(20, 300, 50)
    _feed(t, [(A, 4), (BOTH, 0.5), (B, 3)])
    assert t.turns == [1, 1]
    assert t.interruptions == [0, 1]
    assert t.both == 25


def test_a_take_straight_after_the_other_is_a_response_not_an_interruption():
    # back to back, no overlap: a response gap of 0 (the median read within
    # its 100 ms bin: 50 ms for the one gap), never an interruption
    t = Tally(20, 300, 50)
    _feed(t, [(A, 4), (B, 3)])
    assert t.turns == [1, 1] and t.interruptions == [0, 0]
    assert t.median_gap_ms(1) == 50


def test_an_interruption_needs_the_holder_to_speak_over_it_for_80_ms():
    t = Tally(20, 300, 50)
    _feed(t, [(A, 4), (BOTH, 0.06), (B, 3)])  # 3 frames over: the start of a reply
    assert t.turns == [1, 1] and t.interruptions == [0, 0]
    assert t.median_gap_ms(1) == 50  # a response with no gap
    t = Tally(20, 300, 50)
    _feed(t, [(A, 4), (BOTH, 0.08), (B, 3)])  # 4 frames over
    assert t.turns == [1, 1] and t.interruptions == [0, 1]
    assert t.median_gap_ms(1) == -1  # an interruption is no response


def test_overlap_keeps_the_run_going_but_the_holder_alone_ends_it():
    # B speaks 0.6 s over A, A goes on alone, B again 0.6 s over A: two
    # backchannel-length runs, not one turn; then B over A for a full 0.8 s
    t = Tally(20, 300, 50)
    _feed(t, [(A, 3), (BOTH, 0.6), (A, 0.2), (BOTH, 0.6), (A, 1)])
    assert t.turns == [1, 0] and t.interruptions == [0, 0]
    _feed(t, [(BOTH, 0.4), (B, 0.4), (A, 0.02)])
    assert t.turns == [1, 1] and t.interruptions == [0, 1]


def test_the_hangover_after_a_last_word_is_talk_but_takes_no_floor():
    # B says 0.7 s in A's pause; the voice activity holds it 0.16 s more:
    # 0.86 s of talk, but under the 0.8 s of speech that takes the floor
    t = Tally(20, 300, 50)
    _feed(t, [(A, 3), (N, 0.5), (B, 0.7), (B, 0.16, False), (N, 1), (A, 2)])
    assert t.turns == [1, 0]
    assert t.talk == [250, 43]
    # the same 0.86 s all over the threshold does take it
    t = Tally(20, 300, 50)
    _feed(t, [(A, 3), (N, 0.5), (B, 0.86), (N, 1), (A, 2)])
    assert t.turns == [2, 1]


def test_a_hangover_inside_speech_counts_towards_the_floor():
    # a dip under the threshold between two words of the same voice
    t = Tally(20, 300, 50)
    _feed(t, [(A, 3), (N, 0.5), (B, 0.5), (B, 0.1, False), (B, 0.3), (N, 1)])
    assert t.turns == [1, 1] and t.talk == [150, 45]


def test_a_response_gap_runs_from_the_others_last_word():
    # A's last word, 0.16 s of hangover, 0.34 s of silence, then B: 0.5 s
    t = Tally(20, 300, 50)
    _feed(t, [(A, 3), (A, 0.16, False), (N, 0.34), (B, 3)])
    assert t.turns == [1, 1] and t.interruptions == [0, 0]
    assert t.median_gap_ms(1) == 550  # 500 ms bin, the one gap in it


def test_a_reply_whose_first_words_went_to_the_other_keeps_its_pause():
    # A stops; 0.3 s later B answers, but the talker model gives B's first
    # 80 ms to A (it needs a few votes to change talker): the gap is still
    # the 0.3 s pause, not 0
    t = Tally(20, 300, 50)
    _feed(t, [(A, 3), (N, 0.3), (A, 0.08), (B, 3)])
    assert t.turns == [1, 1] and t.interruptions == [0, 0]
    assert t.median_gap_ms(1) == 350  # the 300 ms bin, the one gap in it
    # a pause further back than the talker model's 200 ms is not this reply's
    t = Tally(20, 300, 50)
    _feed(t, [(A, 3), (N, 0.3), (A, 0.5), (B, 3)])
    assert t.median_gap_ms(1) == 50


def test_held_hangover_frames_are_counted_when_the_record_is_made():
    t = Tally(20, 300, 50)
    _feed(t, [(A, 2), (A, 0.08, False)])
    assert t.talk == [100, 0] and t.frames == 104
    t.settle()
    assert t.talk == [104, 0] and t.frames == 104
    t.settle()  # nothing held: no change
    assert t.talk == [104, 0]


def test_the_median_gap_is_read_within_its_bin():
    # gaps of 0.2, 0.24 and 0.5 s: two in the 200 ms bin, one in the 500 ms
    # bin; the middle one is read at 3/4 of the 200 ms bin (the two spread
    # evenly over it), so 275 ms
    t = Tally(20, 300, 50)
    _feed(t, [(A, 2), (N, 0.2), (B, 2), (N, 0.24), (A, 2), (N, 0.5), (B, 2)])
    assert t.turns == [2, 2] and t.interruptions == [0, 0]
    gaps = [t.gaps[0][b] for b in range(50)], [t.gaps[1][b] for b in range(50)]
    assert gaps[1][2] == 1 and gaps[0][2] == 1 and gaps[1][5] == 1
    t.gaps[0][2] = 0
    t.gaps[1][2] = 2
    assert t.median_gap_ms(1) == 275


def test_the_gap_median_fits_32_bits_with_full_bins():
    # every bin at its 65535 ceiling: 3.3 million gaps, the median's
    # arithmetic stays under 2^30 (a small int on a 32-bit port)
    t = Tally(20, 300, 50)
    for b in range(50):
        t.gaps[0][b] = 65535
    m = t.median_gap_ms(0)
    assert 2400 <= m <= 2600, m


def _windows(t, a_db, b_db, n):
    # n 10-s windows of A 5 s then B 5 s at the given levels, clean switches
    for _ in range(n):
        for _ in range(250):
            t.add(A, a_db * 256)
        for _ in range(250):
            t.add(B, b_db * 256)


def test_heat_when_both_get_louder_without_overlap():
    t = Tally(20, 300, 50)
    _windows(t, -30, -32, 8)  # baselines
    assert not t.heated and t.heat_episodes() == []
    _windows(t, -25, -28, 3)  # A 5 dB, B 4 dB over their own
    assert t.heated
    _windows(t, -30, -32, 3)
    assert not t.heated and len(t.heat) == 1 and t.interruptions == [0, 0]


def test_one_person_louder_alone_is_not_heat():
    # A leans in (6 dB louder), B stays as before, nobody speaks over anyone
    t = Tally(20, 300, 50)
    _windows(t, -30, -32, 8)
    _windows(t, -24, -31, 6)
    assert not t.heated and t.heat_episodes() == []


def test_a_short_overlap_that_does_not_take_the_floor_is_no_turn():
    t = Tally(20, 300, 50)
    _feed(t, [(A, 4), (BOTH, 0.2), (A, 2)])
    assert t.turns == [1, 0] and t.interruptions == [0, 0]


def test_longest_monologue_and_shares():
    t = Tally(20, 300, 50)
    _feed(t, [(A, 6), (N, 0.5), (B, 9), (N, 0.5), (A, 3)])
    assert t.longest == [6 * 50, 9 * 50]
    assert t.share_pm(0) == 500 and t.share_pm(1) == 500


def test_counters_do_not_overflow_in_three_hours():
    # 3 h of frames: every counter stays a small int (MicroPython: +-2^30)
    t = Tally(20, 300, 50)
    frames = 3 * 3600 * 50
    for i in range(frames // 500):
        code = A if i % 3 else B
        for _ in range(500):
            t.add(code, -120 * 256)
    assert t.frames == frames
    assert t.talk[0] + t.talk[1] == frames
    assert abs(t.level_sum_db[0]) < (1 << 30) and t.minutes == 180
    tl = [t.minute(i) for i in range(t.minutes)]
    assert len(tl) == 180 and sum(m[0] + m[1] for m in tl) == frames


def test_the_timeline_is_compact_and_bounded():
    # three 16-bit words a minute; minutes past max_minutes fold into the last
    t = Tally(20, 300, 50, max_minutes=3)
    _feed(t, [(A, 60), (B, 60), (BOTH, 60), (A, 60), (B, 30)])
    assert len(t._tl) == 9
    assert t.minutes == 3
    assert [t.minute(i) for i in range(3)] == [[3000, 0, 0, 0], [0, 3000, 0, 0], [3000, 0, 3000, 0]]
    assert t.open_minute() == [0, 1500, 0, 0]
    assert t.recent_share_pm(0, 1) == (1000 * 6000 + 5250) // 10500


def _cycles(t, n, a_s, b_s):
    # n cycles of A speaking a_s seconds, then B b_s: B's share is b/(a+b) at
    # every cycle end
    for _ in range(n):
        _feed(t, [(A, a_s), (B, b_s)])


def test_in_band_is_one_definition_with_both_ends_included():
    from tbfw import ring
    from tbfw.tally import in_band

    assert in_band(250, 300, 50) and in_band(350, 300, 50) and in_band(300, 300, 50)
    assert not in_band(249, 300, 50) and not in_band(351, 300, 50)
    assert not in_band(-1, 0, 50)  # before any talk: no share, never in band
    for share in range(-1, 1001, 7):
        assert (ring.band_of(share, 300, 50) == ring.BAND_IN) == in_band(share, 300, 50)


def test_in_band_time_is_the_initiators_whichever_slot_it_is():
    # slot B holds 30% all along (29.3% at worst after minute 5): in band for
    # every second after minute 5; slot A (70%) never
    t = Tally(20, 300, 50)
    _cycles(t, 36, 7, 3)
    assert t.frames == 6 * 60 * 50
    assert t.band_counts(1, t.frames) == (60 * 50, 60 * 50)
    assert t.band_counts(0, t.frames) == (60 * 50, 0)


def test_no_in_band_time_before_minute_five():
    t = Tally(20, 300, 50)
    _cycles(t, 30, 7, 3)  # exactly 5 minutes: no second after minute 5 yet
    assert t.band_counts(0, t.frames) is None and t.band_counts(1, t.frames) is None
    _feed(t, [(A, 1)])
    assert t.band_counts(0, t.frames) == (50, 0)


def test_trailing_silence_cut_from_in_band_time_exactly():
    t = Tally(20, 300, 50)
    _cycles(t, 36, 7, 3)
    spoke = t.frames
    _feed(t, [(N, 30)])
    assert t.band_counts(1, t.frames) == (90 * 50, 90 * 50)
    assert t.band_counts(1, spoke) == (60 * 50, 60 * 50)
    assert t.band_counts(0, spoke) == (60 * 50, 0)


def test_credited_speech_fills_the_minutes_it_was_heard_in():
    # 90 s of speech nobody could be credited with yet (talkers not learned),
    # then the fold credits 80 s of it to A: the minute under way holds what
    # it lasted, the rest goes back to the minute before, none over 60 s
    t = Tally(20, 300, 50)
    _feed(t, [(talker.UNKNOWN, 90)])
    t.credit(0, 80 * 50)
    t.unknown -= 80 * 50
    assert t.talk[0] == 80 * 50
    assert t.minute(0)[0] == 50 * 50 and t._minute[0] == 30 * 50
    _feed(t, [(A, 30)])
    assert [t.minute(i)[0] for i in range(t.minutes)] == [50 * 50, 60 * 50]


def test_held_frames_keep_their_levels_sum():
    # hangover frames at -40, -41 and -43 dB: counted later, their levels'
    # sum (so the talker's mean level) is the same as if counted at once
    t = Tally(20, 300, 50)
    _feed(t, [(A, 1)])
    for db in (-40, -41, -43):
        t.add(A, db * 256, False)
    t.add(A, -20 * 256, True)
    assert t.talk == [54, 0]
    assert t.level_sum_db[0] == 51 * -20 - 40 - 41 - 43 and t.level_n[0] == 54


def test_hangover_at_the_noise_floor_is_in_the_share_not_in_talk_time():
    # A speaks 1 s; the hangover holds 8 frames after the last word: the
    # first 3 with sound over the noise floor (the quiet end of the word),
    # the last 5 back at the floor; then silence. All 58 frames are A's
    # (the share), 5 of them only held (not talk time).
    t = Tally(20, 300, 50)
    _feed(t, [(A, 1)])
    for heard in (True, True, True, False, False, False, False, False):
        t.add(A, -50 * 256, False, heard)
    _feed(t, [(N, 0.2)])
    assert t.talk == [58, 0]
    assert t.still == [5, 0]
    # B then speaks; held frames given to both, at the floor, are held
    # frames of each
    _feed(t, [(B, 1)])
    for _ in range(4):
        t.add(BOTH, -50 * 256, False, False)
    t.settle()
    assert t.both == 4
    assert t.still == [9, 4]
    assert t.talk == [58, 50]


def test_held_frames_inside_speech_at_the_floor_are_left_out_of_talk_time_too():
    # a pause of 6 held frames inside A's speech, 2 of them at the floor:
    # the voice resumes (a pause inside speech, not a tail), but the 2
    # frames with nothing over the floor are still not talk time
    t = Tally(20, 300, 50)
    _feed(t, [(A, 1)])
    for heard in (True, False, True, False, True, True):
        t.add(A, -50 * 256, False, heard)
    _feed(t, [(A, 1)])
    t.settle()
    assert t.talk == [106, 0]
    assert t.still == [2, 0]


def test_no_allocation_per_frame_with_hangover_and_overlap():
    # the held-back hangover, overlap, takes of the floor and gaps: nothing
    # allocated frame by frame (40 s, inside one minute: no timeline entry)
    import gc

    t = Tally(20, 300, 50)
    codes = (A, A, A, B, BOTH, N, A, B, B, N)
    voiced = (True, False, True, True, True, True, False, False, True, True)
    pattern = []
    for k in range(10):
        pattern.append((codes[k], voiced[k]))
    for i in range(500):  # warm up: every path taken once
        c, v = pattern[(i // 25) % 10]
        t.add(c, -30 * 256, v, i % 3 != 0)
    gc.collect()
    before = gc.mem_alloc()
    for i in range(2000):
        c, v = pattern[(i // 25) % 10]
        t.add(c, -30 * 256, v, i % 3 != 0)
    grown = gc.mem_alloc() - before
    assert grown == 0, grown
    assert t.turns[0] > 5 and t.turns[1] > 5


def test_the_hangover_at_the_noise_floor_is_in_the_share_not_in_talk_time():
    # A 10 s, B 10 s, A 10 s, B 10 s, each turn followed by the 8 frames the
    # voice activity holds: 3 with the level over the noise floor (-50 dB),
    # 5 back under it. The first turn is heard before the talkers are
    # learned and credited whole when they are (talk time, hangover and
    # all); of the three after it, 5 frames each are held at the floor:
    # given to the talker (the share), not talk time.
    from tbfw import config
    from tbfw.session import Conversation

    conv = Conversation(config.merge_user({}), 20)
    conv.noise_db_q8 = -50 * 256
    for az in (30, 200, 30, 200):
        for _ in range(500):
            conv.frame(True, True, az, 200, -30 * 256, 0)
        for db in (-45, -46, -48, -52, -54, -55, -55, -55):
            conv.frame(True, False, -1, 0, db * 256, 0, False)
        for _ in range(17):
            conv.frame(False, False, -1, 0, -60 * 256, 0)
    rec = conv.record()
    ini, par = rec["talkers"]
    assert ini["azimuth_deg"] // 10 == 3 and par["azimuth_deg"] // 10 == 20, rec["talkers"]
    assert ini["held_s"] == 0.1 and par["held_s"] == 0.2, rec["talkers"]
    # talk time: each one's 1000 voiced frames, the 3 held over the floor
    # after each later turn, and the first turn's 8 held frames, heard
    # before the talkers were learned and shared out as the other
    # undirected frames then are, by the directions heard (7 to A, 1 to B)
    assert ini["talk_s"] == round(0.02 * (1000 + 3 + 7), 2) and par["talk_s"] == round(0.02 * (1000 + 6 + 1), 2), rec["talkers"]
    # the share counts the held frames too; so do the timeline's minutes
    both = ini["talk_s"] + ini["held_s"] + par["talk_s"] + par["held_s"]
    assert abs(ini["share"] - (ini["talk_s"] + ini["held_s"]) / both) < 1e-4
    spoken = sum(m[0] + m[2] for m in rec["timeline"])
    assert abs(spoken - ini["talk_s"] - ini["held_s"]) < 0.05, (spoken, ini)


def _recent_from_timeline(t, slot, minutes):
    # the share of the last `minutes` whole minutes plus the open one, from
    # the timeline's minutes as minute() and open_minute() give them
    rows = [t.minute(i) for i in range(max(0, t.minutes - minutes), t.minutes)]
    rows.append(t.open_minute() or [0, 0, 0, 0])
    own = sum(r[slot] + r[2] for r in rows)
    total = sum(r[0] + r[1] + 2 * r[2] for r in rows)
    return (1000 * own + total // 2) // total if total else -1


def test_recent_share_follows_the_timeline_as_minutes_close_and_speech_is_credited():
    # recent_share_pm keeps the closed minutes' sums between calls: asked at
    # every ring frame (with the same look-back), it must still follow each
    # closed minute, the earlier speech credited into past minutes, and the
    # fold past the longest session
    for minutes in (1, 3, 5):
        t = Tally(20, 300, 50, max_minutes=4)
        s = 7
        for step in range(700):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            code = (A, B, BOTH, N, A, B)[(s >> 8) % 6]
            for _ in range(1 + (s >> 12) % 400):
                t.add(code, -20 * 256)
            if step % 97 == 50:
                t.credit((s >> 4) & 1, 1 + (s >> 16) % 900)
            for slot in (0, 1):
                assert t.recent_share_pm(slot, minutes) == _recent_from_timeline(t, slot, minutes), (step, slot)
        assert t.minutes == 4  # the fold was reached


def test_each_attribution_code_is_counted_as_itself():
    # the tally keeps its own copies of the talker model's codes (constants
    # folded into its code)
    t = Tally(20, 300, 50)
    for who in (N, A, B, BOTH, talker.UNKNOWN):
        t.add(who, -20 * 256)
    assert (t.silence, t.talk, t.both, t.unknown) == (1, [1, 1], 1, 1)
    t.add(A, -60 * 256, False, False)  # hangover at the noise floor: in the share, not in talk time
    t.add(BOTH, -60 * 256, False, False)
    assert t.still == [2, 1]
