"""`talkbalance deploy`: compile the firmware and copy it onto a board."""

from __future__ import annotations

import argparse
import sys

from talkbalance import deployment, serialports
from talkbalance.commands._link import warn


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", metavar="PORT",
                        help=f"serial port (default: ${serialports.PORT_ENV}, else the one device attached)")
    parser.add_argument("--source", action="store_true",
                        help="copy the .py files instead of compiling them (any MicroPython with native code)")
    parser.add_argument("--board", metavar="PATH", help="board file to install as /board.json "
                        "(default: hardware/board.json)")
    parser.add_argument("--no-start", action="store_true", help="leave the board at the REPL after copying")
    parser.add_argument("--write-package-json", action="store_true",
                        help="regenerate firmware/package.json (the device set) and package-sim.json (the "
                        "simulator set) for mpremote mip install, and stop")


def run(args: argparse.Namespace) -> int:
    if args.write_package_json:
        for path in deployment.write_mip_package():
            print(path)
        return 0
    port = serialports.find_device(args.port)
    result = deployment.deploy(port, source=args.source, board_file=args.board,
                           start_app=None if args.no_start else deployment.start_app,
                           say=lambda text: print(f"talkbalance: {text}", file=sys.stderr))
    print(result.summary())
    if not args.no_start and result.answered is None:
        warn("the app did not answer after the reset; see what it prints with: "
             f"mpremote connect {port} repl")
        return 1
    return 0
