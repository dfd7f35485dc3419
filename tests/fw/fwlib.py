# Helpers for firmware tests running under MicroPython.
import json
import os


def board_path():
    """The project's board file (passed in by the test harness)."""
    return os.getenv("TB_TEST_BOARD")


def board():
    with open(board_path()) as f:
        return json.load(f)


def scratch_dir():
    """A directory the test may write to (made fresh per test module)."""
    return os.getenv("TB_TEST_SCRATCH")


def take(buf, pending):
    """A fake serial input: up to len(buf) bytes of `pending` copied into
    buf. Returns (count, what is left of pending)."""
    n = min(len(buf), len(pending))
    buf[:n] = pending[:n]
    return n, pending[n:]


class Xorshift32:
    """xorshift32 noise: the same integers on every port and run, no numpy."""

    def __init__(self, seed):
        self.s = seed

    def _next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def sample(self, amp):
        """An int roughly uniform in -amp..amp."""
        return ((self._next() >> 8) % (2 * amp + 1)) - amp

    def below(self, k):
        """An int in 0..k-1."""
        return (self._next() >> 4) % k
