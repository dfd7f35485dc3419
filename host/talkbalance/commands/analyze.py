"""`talkbalance analyze REC.wav`: the firmware pipeline over a recording."""

from __future__ import annotations

import argparse
import json

from talkbalance import analyze as analysis
from talkbalance.errors import InputError
from talkbalance.records import format_record


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("wav", help="16-bit PCM WAV, 2 or 4 channels in the board's channel order")
    parser.add_argument("--json", action="store_true", help="print the session record as JSON")
    parser.add_argument("--board", help="board file (default: the project's hardware/board.json)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set initiator_rule=second (repeatable)")


def parse_overrides(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--set {item}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    result = analysis.analyze(args.wav, args.board, parse_overrides(args.set))
    if args.json:
        print(json.dumps(result.record, indent=2))
    else:
        print(format_record(result.record))
    return 0
