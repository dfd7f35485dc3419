"""`talkbalance report ID` or `report --partner NAME`: plots of one meeting or a series."""

from __future__ import annotations

import argparse
from pathlib import Path

from talkbalance.commands._common import add_db, open_store
from talkbalance.errors import InputError
from talkbalance.text import file_stem, plural, printable


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", nargs="?", help="session id (omit with --partner)")
    add_db(parser)
    parser.add_argument("--partner", help="report on every meeting with this partner")
    parser.add_argument("-o", "--out", help="output file (default: talkbalance-<id>.png in this folder)")
    parser.add_argument("--html", action="store_true", help="write a self-contained HTML page instead of PNG")


def run(args: argparse.Namespace) -> int:
    from talkbalance import meetingreport  # matplotlib: imported only when a report is made

    if bool(args.id) == bool(args.partner):
        raise InputError("give a session id or --partner NAME (one of them)")
    with open_store(args) as store:
        if args.id:
            s = store.get(args.id)
            rep = meetingreport.session_report(s.record, s.partner, s.date_s, s.note, s.follow_up)
            stem = f"talkbalance-{file_stem(s.record['id'])}"
        else:
            rows = store.all(args.partner)
            if not rows:
                known = ", ".join(printable(p) for p in store.partners()) or "none labelled yet"
                damaged = f"; {plural(len(store.damaged), 'damaged session')} left out, above" if store.damaged else ""
                raise InputError(f"no meetings labelled with partner {printable(args.partner)!r} "
                                 f"(partners: {known}{damaged})",
                                 "label a session: talkbalance label ID --partner NAME")
            meetings = [meetingreport.Meeting(r.record, r.date_s, r.partner, r.note, r.follow_up) for r in rows]
            rep = meetingreport.series_report(meetings, rows[0].partner or args.partner)
            stem = f"talkbalance-{file_stem(args.partner)}"
    out = Path(args.out or f"{stem}.{'html' if args.html else 'png'}")
    try:
        if args.html:
            meetingreport.write_html(rep, out)
        else:
            meetingreport.write_png(rep.figure, out)
    except OSError as exc:
        raise InputError(f"cannot write the report to {printable(str(out))}: {exc.strerror or exc}",
                         "choose a file in a folder you can write with -o") from None
    for line in rep.lines:
        print(line)
    print(f"report written to {printable(str(out))}")
    return 0
