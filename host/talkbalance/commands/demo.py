"""`talkbalance demo`: simulate a conversation, run the firmware on it, sync, report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from talkbalance import devicesim
from talkbalance.errors import InputError
from talkbalance.localstore import default_path
from talkbalance.walkthrough import run_demo


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="talkbalance-demo", help="folder for the demo's files (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the conversation (default: %(default)s)")
    parser.add_argument("--speed", type=float, default=30.0,
                        help="how much faster than real time the device runs (default: %(default)s)")
    parser.add_argument("--share", type=float, default=0.3, help="the initiator's intended share (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="scene seed (default: %(default)s)")
    parser.add_argument("--no-ring", action="store_true", help="don't draw the ring in the terminal")


def run(args: argparse.Namespace) -> int:
    devicesim.check_speed(args.speed, "demo")
    if args.seed < 0:
        raise InputError(f"--seed must be 0 or more, not {args.seed}", "see `talkbalance demo --help`")
    result = run_demo(Path(args.out), minutes=args.minutes, speed=args.speed, seed=args.seed, share=args.share,
                      show_ring=not args.no_ring)
    print(f"demo finished in {result.wall_s:.0f} s; files in {args.out}/")
    prog = "talkbalance"
    if Path(sys.argv[0]).name == "talkbalance":  # say it as it was run: .venv/bin/talkbalance from scripts/demo
        prog = os.path.relpath(sys.argv[0]) if Path(sys.argv[0]).is_absolute() else sys.argv[0]
        prog = sys.argv[0] if prog.startswith("..") else prog
    print(f"look at its session again: {prog} show {result.record['id']} --db {result.db}")
    print(f"(the demo keeps its own store; sessions synced from a puck go to {default_path()})")
    return 0
