"""`talkbalance board [FILE]`: validate a board file and summarise it."""

from __future__ import annotations

import argparse
import json

from talkbalance import boardfile


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="board file (default: the project's hardware/board.json)")
    parser.add_argument("--json", action="store_true", help="print the validated board as JSON")


def run(args: argparse.Namespace) -> int:
    desc = boardfile.load(args.file)
    if args.json:
        print(json.dumps(desc, indent=2))
        return 0
    print(f"board {desc.get('name', '?')} ({desc.get('chip', '?')}), {desc['sample_rate_hz']} Hz")
    for mic in desc["mics"]:
        print(f"  mic ch{mic['channel']} {mic.get('name', '')}: ({mic['x_m']:+.3f}, {mic['y_m']:+.3f}) m")
    for plus, minus, spacing in desc["pair_lags"]:
        print(f"  pair ch{plus}/ch{minus}: spacing {spacing * 1000:.1f} mm")
    ring = desc["ring"]
    print(f"  ring: {ring['count']} LEDs on GPIO {ring['pin']}, LED 0 at {ring['led0_azimuth_deg']} deg, {ring['direction']}")
    print(f"  button: GPIO {desc['button']['pin']}")
    return 0
