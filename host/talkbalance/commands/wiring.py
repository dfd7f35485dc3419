"""`talkbalance wiring`: the wiring table, diagram and enclosure parameters,
generated from the board file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from talkbalance import boardfile, paths, wiringdocs
from talkbalance.errors import InputError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", help="board file (default: the project's hardware/board.json)")
    parser.add_argument("--out", help="folder to write wiring.md, wiring.svg and enclosure/board_params.scad "
                                      "(without it: print the wiring table)")
    parser.add_argument("--check", action="store_true",
                        help="only check that the files in --out (default: the board file's folder) are current")


def run(args: argparse.Namespace) -> int:
    desc = boardfile.load(args.board)
    if args.check:
        out = Path(args.out) if args.out else Path(args.board or paths.board_path()).parent
        stale = wiringdocs.drift(desc, out)
        if stale:
            raise InputError(f"out of date with the board file: {', '.join(stale)} in {out}",
                             f"run: talkbalance wiring --out {out}")
        print(f"wiring files in {out} match the board file")
        return 0
    if not args.out:
        sys.stdout.write(wiringdocs.wiring_markdown(desc))
        return 0
    for path in wiringdocs.write(desc, Path(args.out)):
        print(path)
    return 0
