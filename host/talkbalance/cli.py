"""The `talkbalance` command: a table of subcommands, each in its own module.

Each command module has `configure(parser)` to add its arguments and
`run(args)` that does the work; data goes to stdout, diagnostics to stderr.
A TalkbalanceError becomes one line `talkbalance: <message>` and exit 1.
Output cut short by its reader (`talkbalance info | head`) ends quietly with
exit status 141, as a shell reports a command stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from talkbalance import __version__
from talkbalance.errors import TalkbalanceError

EXIT_PIPE_CLOSED = 128 + 13  # 128 + SIGPIPE

# name -> (module under talkbalance.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "board": ("board", "check a board file and print what it describes"),
    "analyze": ("analyze", "run the firmware pipeline over a WAV recording and print every session in it"),
    "scene": ("scene", "simulate a two-person conversation: a WAV recording and its ground truth"),
    "evaluate": ("evaluate", "score the firmware pipeline against simulated scenes with ground truth"),
    "sessions": ("sessions", "list the sessions stored on this laptop"),
    "show": ("show", "show one stored session in detail"),
    "label": ("label", "record who a meeting was with, a note, and whether a follow-up was agreed"),
    "report": ("report", "plot one meeting, or a series with the same partner (PNG or HTML)"),
    "export": ("export", "export stored sessions as CSV or JSON"),
    "ring": ("ring", "preview the LED ring for a state: terminal line, PNG, GIF, or the docs' gallery"),
    "demo": ("demo", "the whole story: simulate a conversation, run the firmware, sync, report"),
    "sim": ("sim", "run a simulated device (the real firmware on MicroPython) behind a serial port"),
    "selftest": ("selftest", "the device checks its microphones, ring, flash and frame cost"),
    "bench": ("bench", "measure the firmware's cost and accuracy against targets"),
    "wiring": ("wiring", "wiring table, diagram and enclosure parameters from the board file"),
    "ports": ("ports", "list serial ports and mark the likely talkbalance device"),
    "sync": ("sync", "pull new sessions from the device into the local store, then acknowledge them"),
    "session": ("session", "start or stop a session on the device, or claim the initiator's seat by voice"),
    "info": ("info", "show the device's id, firmware, clock and storage"),
    "clock": ("clock", "show the device clock, or set it from this laptop's (--set)"),
    "config": ("config", "get or set the device's settings (config get | config set KEY=VALUE...)"),
    "live": ("live", "show the ring and the numbers live in the terminal"),
    "deploy": ("deploy", "compile the firmware with mpy-cross and copy it onto a board with mpremote"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkbalance",
        description="Laptop tool for the talkbalance puck: analysis, sync, reports.",
    )
    parser.add_argument("--version", action="version", version=f"talkbalance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"talkbalance.commands.{module_name}")
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        status = args._run(args)
    except TalkbalanceError as exc:
        print(f"talkbalance: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"talkbalance: hint: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("talkbalance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE_CLOSED
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE_CLOSED
    return int(status or 0)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of a
    closed pipe raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout replaced by a test or without a file descriptor
        pass
