# Tally floor model: turns, backchannels, interruptions, response gaps, under MicroPython.
from tbfw import talker
from tbfw.tally import Tally

A, B, N, BOTH = talker.SLOT_A, talker.SLOT_B, talker.NONE, talker.BOTH


def _feed(t, pattern):
    """pattern: list of (code, seconds)."""
    for code, seconds in pattern:
        for _ in range(int(seconds * 50)):
            t.add(code, -20 * 256)


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
