"""`talkbalance analyze REC.wav`: the firmware pipeline over a recording."""

from __future__ import annotations

import argparse
import json
import sys

from talkbalance import analysis
from talkbalance.commands import _progress
from talkbalance.errors import InputError
from talkbalance.records import format_record, mmss

PROGRESS_MIN_S = 60  # shorter recordings finish too fast for a bar


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("wav", help="WAV recording, 2 or 4 channels in the board's channel order; any sample "
                                    "rate, 8/16/24/32-bit integer or 32/64-bit float (converted on the way in)")
    parser.add_argument("--json", action="store_true",
                        help="print the sessions as a JSON list of session records")
    parser.add_argument("--board", help="board file (default: the project's hardware/board.json)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set initiator_rule=second (repeatable)")
    parser.add_argument("--progress", choices=_progress.CHOICES, default="auto",
                        help=f"progress bar on stderr for recordings over {PROGRESS_MIN_S} s "
                             "(auto: when stderr is a terminal)")


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


def format_sessions(result: analysis.Analysis, name: str) -> str:
    """Each session under a line giving its place in the recording."""
    if not result.sessions:
        return result.no_session_reason()
    count = len(result.sessions)
    blocks = []
    for k, rec in enumerate(result.sessions, 1):
        head = f"== session {k} of {count}, from {mmss(rec['start'])} in {name} =="
        blocks.append(head + "\n" + format_record(rec))
    return "\n\n".join(blocks)


def run(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.set)
    bar = _progress.Bar(sys.stderr) if _progress.wanted(args.progress) else None

    def progress(done_s: float, total_s: float) -> None:
        if bar is not None and total_s > PROGRESS_MIN_S:
            bar.show(done_s / total_s, f"{mmss(done_s)} of {mmss(total_s)} analysed")

    try:
        result = analysis.analyze(args.wav, args.board, overrides, progress=progress,
                                  converting=lambda note: print(f"analyze: {note}", file=sys.stderr))
    finally:
        if bar is not None:
            bar.end()
    dead = result.dead_text()
    if result.sessions and dead:  # the sessions' figures rest on fewer microphones
        print(f"analyze: {dead}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.sessions, indent=2))
        if not result.sessions:
            print(f"analyze: {result.no_session_reason()}", file=sys.stderr)
    else:
        print(format_sessions(result, args.wav))
    return 0
