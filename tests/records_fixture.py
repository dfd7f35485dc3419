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


def make_record(seed=1, share=0.3, seconds=240, device="ab12cd", boot=1, start=1_700_000_000, heat=False):
    conv = Conversation(config.merge_user({}), 20, device, boot)
    for _truth, speech, valid, az, conf, level in conversation(seed, (30, 210), share, seconds):
        conv.frame(speech, valid, az, conf, level + (10 * 256 if heat else 0), start)
    conv.stop("long_press")
    return conv.record()
