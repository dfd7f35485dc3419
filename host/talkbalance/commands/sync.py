"""`talkbalance sync`: pull the device's sessions into the local store."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from talkbalance.commands import _progress
from talkbalance.commands._common import add_db, open_store
from talkbalance.commands._link import add_port, connect, warn
from talkbalance.recordsync import sync

PROGRESS_MIN_RECORDS = 5  # fewer than this finish too fast for a bar


class ProgressBar:
    """A one-line bar on a terminal: records and kilobytes fetched."""

    def __init__(self, out: TextIO, width: int = 30):
        self.bar = _progress.Bar(out, width)

    def __call__(self, done: int, total: int, done_bytes: int, total_bytes: int) -> None:
        if total < PROGRESS_MIN_RECORDS:
            return
        frac = done_bytes / total_bytes if total_bytes else done / total
        self.bar.show(frac, f"{done}/{total} sessions, {done_bytes / 1024:.1f} of {total_bytes / 1024:.1f} KiB")

    def end(self) -> None:
        self.bar.end()


def configure(parser: argparse.ArgumentParser) -> None:
    add_port(parser)
    add_db(parser)
    parser.add_argument("--no-clock", action="store_true", help="leave the device clock alone")
    parser.add_argument("--progress", choices=_progress.CHOICES, default="auto",
                        help="progress bar on stderr (auto: when stderr is a terminal)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    bar = ProgressBar(sys.stderr) if _progress.wanted(args.progress) else None
    with connect(args) as dev, open_store(args, create=True) as store:
        try:
            result = sync(dev, store, set_clock=not args.no_clock, progress=bar)
        finally:
            if bar is not None:
                bar.end()
    if store.created:
        warn(f"made a new session store at {store.path}")
    for rec_id, reason in result.corrupt:
        warn(f"record {rec_id} is corrupt ({reason}): skipped, left on the device")
    for rec_id, reason in result.unstorable:
        warn(f"record {rec_id} cannot be stored ({reason}): left on the device")
    for rec_id, reason in result.skipped:
        warn(f"record {rec_id} was not fetched ({reason}): left on the device")
    if result.lost:
        n = len(result.lost)
        warn(f"the device lost {n} session{'' if n == 1 else 's'} before {'it was' if n == 1 else 'they were'} "
             "synced: " + ", ".join(f"{rid} ({why})" for rid, why in result.lost))
    for rec_id, key in result.conflicts:
        warn(f"record {rec_id} differs from the session stored under that id: kept as {key}")
    for rec_id, problems in result.check_problems:
        warn(f"record {rec_id}: its figures disagree (kept; please report it): " + "; ".join(problems))
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(result.summary())
    return 0
