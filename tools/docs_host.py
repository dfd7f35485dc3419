"""Regenerate docs/host.md's examples and screenshots in one command:

    .venv/bin/python tools/docs_host.py [--out docs/img]

Makes a session store of example meetings (records from the firmware's own
session engine, as tests/records_fixture.py makes them): a series of six
weekly meetings with Sam, one meeting with Kim, and thirty with Alex. Then
prints `sessions` and `show` as the docs quote them, writes the meeting and
series reports as PNG and HTML, and photographs the HTML pages in headless
Chromium (skipped, with a note, when no Chromium is installed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import headless  # noqa: E402
from records_fixture import make_record  # noqa: E402
from talkbalance.cli import main  # noqa: E402
from talkbalance.localstore import LocalStore  # noqa: E402

DEVICE = "simf8bbd5"
WEEK_S = 7 * 86_400


def _local(y: int, mo: int, d: int, h: int) -> int:
    return int(time.mktime((y, mo, d, h, 0, 0, 0, 0, -1)))


def example_records() -> list[tuple[dict, str, str | None, bool | None]]:
    """(record, partner, note, follow-up) for every example meeting."""
    out = []
    first = _local(2026, 1, 5, 8)
    sam = [(0.41, 2400), (0.36, 2280), (0.33, 2520), (0.31, 2400), (0.29, 2340), (0.30, 2460)]
    for i, (share, seconds) in enumerate(sam):
        start = first + i * WEEK_S + i * 3600
        rec = make_record(seed=10 + i, share=share, seconds=seconds, device=DEVICE, boot=2 + i, start=start)
        note = "agreed a plan for the hand-over" if i == 4 else None
        out.append((rec, "Sam", note, i != 2))
    rec = make_record(seed=30, share=0.27, seconds=180, device=DEVICE, boot=9, start=_local(2026, 2, 20, 15))
    out.append((rec, "Kim", "a quick check-in", None))
    alex_first = _local(2025, 6, 2, 9)
    for i in range(30):
        share = 0.45 - 0.15 * i / 29 + (0.04 if i % 4 == 1 else -0.02 if i % 3 == 0 else 0.0)
        gap = WEEK_S if i % 5 else 2 * WEEK_S
        alex_first += gap
        rec = make_record(seed=100 + i, share=share, seconds=600 + 60 * (i % 4), device="simab01cd",
                          boot=1 + i, start=alex_first)
        out.append((rec, "Alex", None, i % 3 != 0))
    return out


def build_store(path: Path) -> None:
    with LocalStore(path) as st:
        for rec, partner, note, follow in example_records():
            st.add_many([rec])
            st.label(rec["id"], partner=partner, note=note, follow_up=follow)


def _console(args: list[str]) -> None:
    print("$ talkbalance " + " ".join(a for a in args if not a.startswith("/")))
    main(args)
    sys.stdout.flush()


def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sessions.sqlite3"
        build_store(db)
        os.environ["TALKBALANCE_DB"] = str(db)
        _console(["sessions", "--partner", "Sam"])
        _console(["show", f"{DEVICE}-6-1"])
        for args, name in ((["report", f"{DEVICE}-6-1"], "host-report-session"),
                           (["report", "--partner", "Sam"], "host-report-series"),
                           (["report", "--partner", "Kim"], "host-report-series-1"),
                           (["report", "--partner", "Alex"], "host-report-series-30")):
            _console([*args, "-o", str(out / f"{name}.png")])
            html = Path(tmp) / f"{name}.html"
            main([*args, "--html", "-o", str(html)])
            shot = out / f"{name}-html.png"
            if name in ("host-report-session", "host-report-series"):
                try:
                    headless.screenshot(html, shot)
                    print(f"screenshot of the HTML page in {headless.find()}: {shot}")
                except headless.NoBrowser as exc:
                    print(f"no screenshot of {html.name}: {exc}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"), help="folder for the images")
    run(Path(parser.parse_args().out))
