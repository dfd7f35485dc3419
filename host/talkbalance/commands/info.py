"""`talkbalance info`: what the device is and how its store stands."""

from __future__ import annotations

import argparse
import json
import time

from talkbalance.commands._link import add_port, connect, device_time


def configure(parser: argparse.ArgumentParser) -> None:
    add_port(parser)
    parser.add_argument("--json", action="store_true", help="print the device's answer as JSON")


def _kib(n) -> str:
    if not isinstance(n, (int, float)):
        return "?"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= 10 * size:
            return f"{n / size:.0f} {unit}"
    return f"{n / 1024:.0f} KiB"


def run(args: argparse.Namespace) -> int:
    with connect(args) as dev:
        hello = dev.hello_body or {}
        info = dev.info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"device     {info.get('device')} on {dev.name}")
    print(f"firmware   {info.get('firmware')}, link protocol {info.get('protocol')} "
          f"(frames up to {hello.get('max_line')} bytes)")
    clock = info.get("clock")
    if isinstance(clock, int) and not isinstance(clock, bool):
        offset = clock - int(time.time())
        unset = ", not set since power-up: sync sets it" if info.get("clock_set") is False else ""
        print(f"clock      {device_time(clock)} "
              f"({'+' if offset >= 0 else ''}{offset} s against this laptop{unset})")
    print(f"state      {info.get('state')}")
    counters = info.get("counters") or {}
    if counters:
        print(f"sessions   {counters.get('stored')} stored, {counters.get('unsynced')} not yet synced")
        print(f"flash      {_kib(counters.get('used_bytes'))} used of {_kib(counters.get('budget_bytes'))} "
              f"allowed ({_kib(counters.get('free_bytes'))} free)")
        dropped = counters.get("dropped") or 0
        by = counters.get("dropped_by") or {}
        detail = ", ".join(f"{k} {v}" for k, v in sorted(by.items()) if v)
        print(f"lost       {dropped}" + (f" ({detail})" if detail else ""))
    extra = {k: v for k, v in info.items()
             if k not in ("device", "firmware", "protocol", "clock", "state", "counters", "link")}
    for key, value in sorted(extra.items()):
        print(f"{key:<10} {value}")
    lnk = info.get("link")
    if isinstance(lnk, dict):
        print("link       " + ", ".join(f"{k} {lnk[k]}" for k in sorted(lnk)))
    return 0
