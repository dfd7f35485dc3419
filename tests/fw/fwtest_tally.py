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
