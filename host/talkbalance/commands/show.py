"""`talkbalance show ID`: one session in detail."""

from __future__ import annotations

import argparse
import json

from talkbalance.commands._common import add_db, open_store, stored_json
from talkbalance.records import date_text, format_record
from talkbalance.text import printable


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="session id as listed by `talkbalance sessions`")
    add_db(parser)
    parser.add_argument("--json", action="store_true", help="print the session as JSON: date, labels and record")


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        s = store.get(args.id)
    if args.json:
        print(json.dumps(stored_json(s), indent=2))
        return 0
    print(format_record(s.record, date_text(s.date_s)))
    follow = {None: "not recorded", True: "agreed", False: "not agreed"}[s.follow_up]
    print(f"  with {printable(s.partner) or '(no partner labelled)'}; follow-up {follow}"
          + (f"; note: {printable(s.note)}" if s.note else ""))
    return 0
