"""Session records made by the firmware's own session engine (run under
CPython through talkbalance.fw) from frame-level conversations."""

from __future__ import annotations

import sys
from pathlib import Path

import talkbalance.fw  # noqa: F401  (puts the firmware on sys.path)

sys.path.insert(0, str(Path(__file__).parent / "fw"))

from convsim import conversation  # noqa: E402
from tbfw import config  # noqa: E402
from tbfw.session import Conversation  # noqa: E402


class DeviceClock:
    """What the app gives a session: uptime and whether the clock was set."""

    def __init__(self, uptime_s=0, clock_set=True):
        self.uptime_s = uptime_s
        self._set = clock_set

    def uptime(self):
        return self.uptime_s

    def clock_is_set(self):
        return self._set


def make_record(seed=1, share=0.3, seconds=240, device="ab12cd", boot=1, start=1_700_000_000, heat=False,
                uptime_s=0, clock_set=True, cfg=None):
    """A record as a device whose clock was set (by default) would make it."""
    conv = Conversation(config.merge_user(cfg or {}), 20, device, boot)
    conv.time_source = DeviceClock(uptime_s, clock_set)
    for _truth, speech, valid, az, conf, level in conversation(seed, (30, 210), share, seconds):
        conv.frame(speech, valid, az, conf, level + (10 * 256 if heat else 0), start)
    conv.stop("long_press")
    return conv.record()
