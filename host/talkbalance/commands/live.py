"""`talkbalance live`: the ring and the numbers, live in the terminal."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from talkbalance import liveview
from talkbalance.commands._link import add_port, connect
from talkbalance.errors import InputError, LinkError


def configure(parser: argparse.ArgumentParser) -> None:
    add_port(parser)
    parser.add_argument("--seconds", type=float, default=0, metavar="S",
                        help="stop after this long (default: until Ctrl-C)")
    parser.add_argument("--count", type=int, default=0, metavar="N", help="stop after N updates")
    parser.add_argument("--board", metavar="PATH", help="board file for the ring layout (default: the bundled one)")
    parser.add_argument("--ring", choices=("auto", "always", "never"), default="auto",
                        help="draw the ring (auto: when stdout is a terminal)")
    parser.add_argument("--json", action="store_true", help="print each event's body as a JSON line")


def run(args: argparse.Namespace) -> int:
    if args.count < 0:
        raise InputError(f"--count must be 0 (no limit) or more, not {args.count}", "see `talkbalance live --help`")
    if not 0 <= args.seconds < math.inf:  # NaN too
        raise InputError(f"--seconds must be 0 (until Ctrl-C) or more, not {args.seconds:g}",
                         "see `talkbalance live --help`")
    tty = sys.stdout.isatty()
    draw = args.ring == "always" or (args.ring == "auto" and tty)
    ring = liveview.RingLine(args.board) if draw else None
    shown = 0
    deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
    with connect(args) as dev:
        dev.live(True)
        try:
            while deadline is None or time.monotonic() < deadline:
                wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
                for body in dev.live_events(wait):
                    if args.json:
                        line = json.dumps(body)
                    else:
                        line = liveview.numbers(body)
                        if ring is not None:
                            line = ring(body) + "  " + line
                    if tty and not args.json:
                        sys.stdout.write("\r\x1b[2K" + line)
                    else:
                        sys.stdout.write(line + "\n")
                    sys.stdout.flush()
                    shown += 1
                    if args.count and shown >= args.count:
                        return 0
        except KeyboardInterrupt:
            pass
        finally:
            if tty and shown and not args.json:
                sys.stdout.write("\n")
            try:
                dev.live(False)
            except LinkError:  # the device may be gone; nothing to undo then
                pass
    return 0
