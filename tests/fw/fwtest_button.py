# Button logic: debounce, short press, hold, long press, wrap of ticks.
from tbfw import button
from tbfw.button import HOLD, LONG, NONE, PRESS, RELEASE, SHORT


def _run(b, levels, start=0, step=10):
    """Feed (pressed) levels every `step` ms; return [(t, event)] for events."""
    out = []
    t = start
    for level in levels:
        ev = b.update(level, t & ((1 << 30) - 1))
        if ev != NONE:
            out.append((t - start, ev))
        t += step
    return out


def test_bounce_shorter_than_debounce_is_ignored():
    b = button.Button(debounce_ms=30)
    # 20 ms blips (two samples at 10 ms) never settle
    assert _run(b, [0, 1, 1, 0, 0, 1, 0, 0, 0]) == []
    assert not b.down


def test_short_press_with_contact_bounce():
    b = button.Button(debounce_ms=30, hold_ms=600, long_ms=3000)
    levels = [0, 1, 0, 1, 1, 1, 1, 1] + [1] * 20 + [0, 1, 0, 0, 0, 0, 0]
    events = _run(b, levels)
    assert [e for _, e in events] == [PRESS, SHORT]
    # last edge down at t=30, stable for 30 ms at t=60; last edge up at t=300
    assert events[0][0] == 60, events
    assert events[1][0] == 330, events
    # the press is dated from the edges, not from when they settled
    assert b.held_ms(400) == 270


def test_hold_then_long_then_release_in_order():
    b = button.Button(debounce_ms=30, hold_ms=600, long_ms=3000)
    events = _run(b, [1] * 400 + [0] * 5)  # 4 s down
    kinds = [e for _, e in events]
    assert kinds == [PRESS, HOLD, LONG, RELEASE], kinds
    times = dict((e, t) for t, e in events)
    assert 600 <= times[HOLD] <= 620
    assert 3000 <= times[LONG] <= 3020
    assert 4000 <= times[RELEASE] <= 4040
    assert 3990 <= b.held_ms(5000) <= 4010


def test_hold_released_before_long():
    b = button.Button(debounce_ms=30, hold_ms=600, long_ms=3000)
    kinds = [e for _, e in _run(b, [1] * 100 + [0] * 5)]
    assert kinds == [PRESS, HOLD, RELEASE]


def test_slow_caller_still_sees_every_stage():
    b = button.Button(debounce_ms=30, hold_ms=600, long_ms=3000)
    assert b.update(True, 0) == NONE
    # the next look is 5 s later: press, hold and long come one per update
    assert [b.update(True, 5000), b.update(True, 5001), b.update(True, 5002)] == [PRESS, HOLD, LONG]
    assert b.update(True, 5003) == NONE


def test_ticks_wrap():
    b = button.Button(debounce_ms=30, hold_ms=600, long_ms=3000)
    start = (1 << 30) - 300  # wraps 300 ms into the press
    kinds = [e for _, e in _run(b, [1] * 80 + [0] * 5, start=start)]
    assert kinds == [PRESS, HOLD, RELEASE]
    assert button.ticks_diff(5, (1 << 30) - 5) == 10
    assert button.ticks_diff((1 << 30) - 5, 5) == -10


def test_rejects_inconsistent_times():
    for args in ((30, 20, 3000), (30, 600, 600), (-1, 600, 3000)):
        try:
            button.Button(*args)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % (args,))
