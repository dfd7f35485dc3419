"""`talkbalance label ID --partner NAME`: who a meeting was with (kept on the laptop only)."""

from __future__ import annotations

import argparse

from talkbalance.commands._common import add_db, open_store
from talkbalance.errors import InputError
from talkbalance.text import printable

PARTNER_MAX = 100  # characters of a partner's name
NOTE_MAX = 1000  # characters of a note


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="session id as listed by `talkbalance sessions`")
    add_db(parser)
    parser.add_argument("--partner", help=f"name of the other person (up to {PARTNER_MAX} characters; "
                                          f"an empty name clears it)")
    parser.add_argument("--note", help=f"a short note (up to {NOTE_MAX} characters; an empty note clears it)")
    follow = parser.add_mutually_exclusive_group()
    follow.add_argument("--follow-up", dest="follow_up", action="store_true", default=None,
                        help="a next meeting was agreed")
    follow.add_argument("--no-follow-up", dest="follow_up", action="store_false", help="no next meeting agreed")


def _text(value: str | None, flag: str, most: int) -> str | None:
    """A label as given, without surrounding spaces; "" clears it."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > most:
        raise InputError(f"{flag}: {len(value)} characters; at most {most}", f"shorten the {flag[2:]}")
    return value


def run(args: argparse.Namespace) -> int:
    partner = _text(args.partner, "--partner", PARTNER_MAX)
    note = _text(args.note, "--note", NOTE_MAX)
    with open_store(args) as store:
        s = store.label(args.id, partner, note, args.follow_up)
    print(f"{s.key}: partner {printable(s.partner) or '-'}, follow-up "
          f"{ {None: '-', True: 'yes', False: 'no'}[s.follow_up] }" + (f", note: {printable(s.note)}" if s.note else ""))
    return 0
