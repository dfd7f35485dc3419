"""Arguments and helpers shared by the commands that use the local store."""

from __future__ import annotations

import argparse

from talkbalance.localstore import DB_ENV, LocalStore


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH",
                        help=f"session store (default: ${DB_ENV}, else the user data directory)")


def open_store(args: argparse.Namespace, create: bool = False) -> LocalStore:
    """The store named by --db (or the default); only `sync` creates one."""
    return LocalStore(args.db, create=create)
