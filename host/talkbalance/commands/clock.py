"""`talkbalance clock`: show the device clock, or set it from the laptop's."""

from __future__ import annotations

import argparse
import json
import time

from talkbalance.commands._link import add_port, connect, device_time
from talkbalance.errors import LinkError


def configure(parser: argparse.ArgumentParser) -> None:
    add_port(parser)
    parser.add_argument("--set", action="store_true", help="set the device clock to this laptop's")
    parser.add_argument("--json", action="store_true", help="print JSON")


_SHOWN = "%Y-%m-%d %H:%M:%S %Z"


def _whole(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LinkError(f"the device answered a clock that is not a time: {value!r}")
    return value


def run(args: argparse.Namespace) -> int:
    with connect(args) as dev:
        before = _whole(dev.clock().get("time"))
        offset = before - int(time.time())
        after = _whole(dev.set_clock(int(time.time())).get("time")) if args.set else None
    if args.json:
        print(json.dumps({"device_time": before, "offset_s": offset, "set_to": after}))
        return 0
    print(f"device clock {device_time(before, _SHOWN)} ({'+' if offset >= 0 else ''}{offset} s against this laptop)")
    if after is not None:
        print(f"set to {device_time(after, _SHOWN)}")
    return 0
