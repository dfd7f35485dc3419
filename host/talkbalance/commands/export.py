"""`talkbalance export --csv|--json`: all stored sessions for other tools."""

from __future__ import annotations

import argparse
import csv
import sys

from talkbalance.commands._common import add_db, open_store, print_stored_json
from talkbalance.records import iso_date

# date: ISO 8601 in local time with its UTC offset, empty when unknown
CSV_FIELDS = ["id", "device", "date", "duration_s", "partner", "note", "follow_up", "initiator_share",
              "initiator_talk_s", "partner_talk_s", "overlap_s", "silence_s", "in_band_share", "heat_episodes",
              "initiator_interruptions", "partner_interruptions", "speaker_changes_per_min"]


# A cell a spreadsheet would take for a formula (=, +, -, @, or a tab or
# carriage return before one) gets a leading apostrophe: a label typed as
# =HYPERLINK(...) stays text when the file is opened (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str | None) -> str:
    """A label as a CSV cell that a spreadsheet shows as text."""
    text = text or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    fmt = parser.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--csv", action="store_true", help="one row per session")
    fmt.add_argument("--json", action="store_true", help="records with their labels")
    parser.add_argument("--partner", help="only meetings with this partner")


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        rows = store.all(args.partner)
    if args.json:
        return print_stored_json(rows)
    out = csv.DictWriter(sys.stdout, CSV_FIELDS)
    out.writeheader()
    for s in rows:
        r = s.record
        ini, par = r["talkers"][0], r["talkers"][1]
        out.writerow({
            "id": r["id"], "device": r["device"], "date": iso_date(s.date_s) or "",
            "duration_s": r["duration_s"], "partner": text_cell(s.partner), "note": text_cell(s.note),
            "follow_up": "" if s.follow_up is None else int(s.follow_up),
            "initiator_share": ini.get("share"), "initiator_talk_s": ini.get("talk_s"),
            "partner_talk_s": par.get("talk_s"), "overlap_s": r.get("overlap_s"), "silence_s": r.get("silence_s"),
            "in_band_share": r.get("in_band_share"), "heat_episodes": len(r.get("heat", [])),
            "initiator_interruptions": ini.get("interruptions"), "partner_interruptions": par.get("interruptions"),
            "speaker_changes_per_min": r.get("speaker_changes_per_min"),
        })
    return 0
