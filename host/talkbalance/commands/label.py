"""`talkbalance label ID --partner NAME`: who a meeting was with (kept on the laptop only)."""

from __future__ import annotations

import argparse

from talkbalance.commands._common import add_db, open_store
from talkbalance.text import printable


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="session id as listed by `talkbalance sessions`")
    add_db(parser)
    parser.add_argument("--partner", help="name of the other person")
    parser.add_argument("--note", help="a short note")
    follow = parser.add_mutually_exclusive_group()
    follow.add_argument("--follow-up", dest="follow_up", action="store_true", default=None,
                        help="a next meeting was agreed")
    follow.add_argument("--no-follow-up", dest="follow_up", action="store_false", help="no next meeting agreed")


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        s = store.label(args.id, args.partner, args.note, args.follow_up)
    print(f"{s.key}: partner {printable(s.partner) or '-'}, follow-up "
          f"{ {None: '-', True: 'yes', False: 'no'}[s.follow_up] }" + (f", note: {printable(s.note)}" if s.note else ""))
    return 0
