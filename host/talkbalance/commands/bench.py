"""`talkbalance bench`: cost (and later accuracy) measurements with targets."""

from __future__ import annotations

import argparse
import sys

from talkbalance import bench


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", metavar="SECTION",
                        help="run only this section (repeatable); default all: " + ", ".join(bench.sections()))


def run(args: argparse.Namespace) -> int:
    rows = []
    for name in args.only or bench.sections():
        print(f"bench: running {name} ...", file=sys.stderr)
        rows += bench.run_section(name)
    print(bench.format_table(rows))
    return 0
