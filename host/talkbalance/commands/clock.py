"""`talkbalance clock`: show the device clock, or set it from the laptop's."""

from __future__ import annotations

import argparse
import json
import time

from talkbalance.commands._link import add_port, connect


def configure(parser: argparse.ArgumentParser) -> None:
    add_port(parser)
    parser.add_argument("--set", action="store_true", help="set the device clock to this laptop's")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _when(unix_s: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(unix_s))


def run(args: argparse.Namespace) -> int:
    with connect(args) as dev:
        before = int(dev.call("clock")["time"])
        offset = before - int(time.time())
        after = int(dev.call("clock-set", {"time": int(time.time())})["time"]) if args.set else None
    if args.json:
        print(json.dumps({"device_time": before, "offset_s": offset, "set_to": after}))
        return 0
    print(f"device clock {_when(before)} ({'+' if offset >= 0 else ''}{offset} s against this laptop)")
    if after is not None:
        print(f"set to {_when(after)}")
    return 0
