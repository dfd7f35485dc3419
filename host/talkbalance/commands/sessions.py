"""`talkbalance sessions`: list the stored sessions."""

from __future__ import annotations

import argparse

from talkbalance.commands._common import add_db, open_store, print_stored_json
from talkbalance.records import date_text
from talkbalance.text import plural, printable


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    parser.add_argument("--partner", help="only meetings with this partner")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list: each session's date, labels and record")


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        rows = store.all(args.partner)
        partners = store.partners() if not rows and args.partner is not None else []
        stored = bool(rows) or bool(store.all())
        damaged = len(store.damaged)
    if args.json:
        return print_stored_json(rows)
    if not rows and damaged and args.partner is None:
        print(f"no session can be shown ({plural(damaged, 'damaged one')} left out, above)")
        return 0
    if not rows and stored:
        known = ", ".join(printable(p) for p in partners) or "none labelled yet"
        print(f"no sessions with partner {printable(args.partner)!r} (partners: {known})")
        return 0
    if not rows:
        print("no sessions stored yet (sync a device with: talkbalance sync)")
        return 0
    print(f"{'session':<24} {'date':<16} {'min':>5} {'initiator':>9} {'heat':>4}  partner")
    for s in rows:
        rec = s.record
        share = rec["talkers"][0].get("share")
        when = date_text(s.date_s)
        print(f"{s.key:<24} {when:<16} {rec['duration_s'] / 60:>5.1f} "
              f"{'-' if share is None else f'{100 * share:.0f}%':>9} {len(rec.get('heat', [])):>4}  {printable(s.partner)}")
    return 0
