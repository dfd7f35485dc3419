"""`talkbalance ports`: list serial ports and mark the likely device."""

from __future__ import annotations

import argparse
import json

from talkbalance import serialports


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    found = serialports.list_ports()
    if args.json:
        print(json.dumps([p.as_dict() for p in found], indent=2))
        return 0
    if not found:
        print("no serial ports found (plug the puck in with a data USB cable)")
        return 0
    width = max(len(p.device) for p in found)
    for p in found:
        mark = "*" if p.likely else " "
        what = p.kind or p.description or "-"
        print(f"{mark} {p.device:<{width}}  {p.usb_id or ('sim' if p.simulated else '-'):<9}  {what}")
    likely = [p for p in found if p.likely]
    if len(likely) == 1:
        print(f"* likely the talkbalance device; commands use {likely[0].device} by themselves")
    elif likely:
        print("* possible talkbalance devices: choose one with --port")
    return 0
