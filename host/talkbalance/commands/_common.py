"""Arguments and helpers shared by the commands that use the local store."""

from __future__ import annotations

import argparse

from talkbalance.localstore import DB_ENV, LocalStore, Stored
from talkbalance.records import iso_date


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH",
                        help=f"session store (default: ${DB_ENV}, else the user data directory)")


def open_store(args: argparse.Namespace, create: bool = False) -> LocalStore:
    """The store named by --db (or the default); only `sync` creates one."""
    return LocalStore(args.db, create=create)


def stored_json(s: Stored) -> dict:
    """A stored session for JSON output: its date (ISO 8601, local time; null
    when unknown), labels and the device's record, the same in every command."""
    return {"id": s.key, "date": iso_date(s.date_s), "dated_by": s.date_how, "partner": s.partner,
            "note": s.note, "follow_up": s.follow_up, "record": s.record}
