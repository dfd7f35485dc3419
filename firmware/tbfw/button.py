# Push-button logic: debounce, short press, hold and long press, fed with the
# raw level and the time; no hardware. The board reads the pin
# (board.button_pressed()), the app calls Button.update() once per frame.
#
# Events (at most one per update; a later update reports the next one, so
# a slow caller still sees PRESS, HOLD, LONG in order):
#   PRESS    the button went down (debounced)
#   SHORT    released before hold_ms: a click
#   HOLD     still down after hold_ms (e.g. claim: "I am the initiator")
#   LONG     still down after long_ms (e.g. end the session)
#   RELEASE  released after HOLD or LONG; held_ms() says for how long
#
# Times are ticks_ms values; differences wrap like MicroPython's ticks.

from micropython import const

NONE = const(0)
PRESS = const(1)
SHORT = const(2)
HOLD = const(3)
LONG = const(4)
RELEASE = const(5)

NAMES = ("none", "press", "short", "hold", "long", "release")

_TICKS_PERIOD = const(1 << 30)  # MicroPython's ticks_ms wrap
_TICKS_HALF = const(1 << 29)


def ticks_diff(end, start):
    """end - start for ticks that wrap at 2**30 (as time.ticks_diff)."""
    return ((end - start + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF


class Button:
    def __init__(self, debounce_ms=30, hold_ms=600, long_ms=3000):
        if not 0 <= debounce_ms < hold_ms < long_ms:
            raise ValueError("need 0 <= debounce_ms < hold_ms < long_ms")
        self.debounce_ms = debounce_ms
        self.hold_ms = hold_ms
        self.long_ms = long_ms
        self.down = False        # debounced state
        self._raw = False
        self._raw_since = None   # when the raw level last changed
        self._down_at = 0        # when the debounced press began
        self._up_at = 0
        self._stage = NONE       # last event of this press: PRESS, HOLD or LONG

    def update(self, pressed, now_ms):
        """Feed the raw level; return one event constant (NONE if nothing)."""
        pressed = bool(pressed)
        if self._raw_since is None or pressed != self._raw:
            self._raw = pressed
            self._raw_since = now_ms
        stable = ticks_diff(now_ms, self._raw_since) >= self.debounce_ms
        if stable and self._raw != self.down:
            self.down = self._raw
            if self.down:
                # The press began when the level first changed, not when it settled.
                self._down_at = self._raw_since
                self._stage = PRESS
                return PRESS
            self._up_at = self._raw_since
            stage = self._stage
            self._stage = NONE
            if stage == PRESS:
                return SHORT
            return RELEASE
        if self.down:
            held = ticks_diff(now_ms, self._down_at)
            if self._stage == PRESS and held >= self.hold_ms:
                self._stage = HOLD
                return HOLD
            if self._stage == HOLD and held >= self.long_ms:
                self._stage = LONG
                return LONG
        return NONE

    def held_ms(self, now_ms):
        """How long the current (or the last) press lasted."""
        if self.down:
            return ticks_diff(now_ms, self._down_at)
        return ticks_diff(self._up_at, self._down_at)
