"""Arguments and helpers shared by the commands that use the local store."""

from __future__ import annotations

import argparse
import json
import os
import sys

from talkbalance.errors import StoreMissing
from talkbalance.localstore import DB_ENV, LocalStore, Stored, default_path
from talkbalance.records import iso_date
from talkbalance.text import printable


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH",
                        help=f"session store (default: ${DB_ENV}, else the user data directory)")


def open_store(args: argparse.Namespace, create: bool = False) -> LocalStore:
    """The store named by --db (or the default); only `sync` creates one."""
    if not create and not args.db and not os.environ.get(DB_ENV) and not default_path().exists():
        raise StoreMissing(f"no sessions stored yet ({default_path()} does not exist)",
                           "sync a puck with: talkbalance sync (the demo keeps its own store: "
                           "--db talkbalance-demo/sessions.sqlite3)")
    return LocalStore(args.db, create=create, on_damaged=_warn_damaged)


def _warn_damaged(key: str, why: str) -> None:
    """One line on stderr for each stored session that cannot be shown: the
    command goes on with the others."""
    print(f"talkbalance: warning: session {printable(key)} left out: its stored record {why}", file=sys.stderr)


def stored_json(s: Stored) -> dict:
    """A stored session for JSON output: its date (ISO 8601, local time; null
    when unknown), labels and the device's record, the same in every command."""
    return {"id": s.key, "date": iso_date(s.date_s), "dated_by": s.date_how, "partner": s.partner,
            "note": s.note, "follow_up": s.follow_up, "record": s.record}


def print_stored_json(rows: list[Stored]) -> int:
    """Stored sessions as one JSON list on stdout (`sessions --json`, `export
    --json`); the command's exit status."""
    print(json.dumps([stored_json(s) for s in rows], indent=2))
    return 0
