"""`talkbalance config get|set`: the device's user settings."""

from __future__ import annotations

import argparse
import json
import sys

from talkbalance import settings
from talkbalance.commands._link import add_port, connect
from talkbalance.device import ConfigRefused, WouldEvict
from talkbalance.errors import InputError

# The device's answer to config-set says when each change applies.
APPLIES_TEXT = {"now": "applies now", "next_session": "applies from the next session",
                "next_boot": "applies from the next boot"}


def configure(parser: argparse.ArgumentParser) -> None:
    add_port(parser)
    parser.add_argument("action", choices=("get", "set"), help="get: print settings; set: change them")
    parser.add_argument("items", nargs="*", metavar="KEY[=VALUE]",
                        help="get: keys to print (default all); set: KEY=VALUE pairs")
    parser.add_argument("--json", action="store_true", help="print the settings as JSON")
    parser.add_argument("--evict", type=int, default=0, metavar="N",
                        help="set: allow the change to delete up to N unsynced sessions (asked on a terminal)")


def parse_value(text: str):
    """A command-line value: JSON when it parses (numbers, true/false), else the text."""
    lowered = text.strip().lower()
    if lowered in ("on", "yes"):
        return True
    if lowered in ("off", "no"):
        return False
    try:
        return json.loads(lowered if lowered in ("true", "false") else text)
    except ValueError:
        return text


def parse_changes(items: list[str]) -> dict:
    """KEY=VALUE pairs, each checked with the firmware's own rules."""
    if not items:
        raise InputError("config set needs KEY=VALUE pairs",
                         "keys: " + ", ".join(sorted(settings.USER_KEYS)))
    changes = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InputError(f"{item!r} is not KEY=VALUE")
        if key in changes:
            raise InputError(f"{key} is given twice", "give each key once")
        try:
            changes[key] = settings.check(key, parse_value(text))
        except settings.ConfigError as exc:
            raise InputError(str(exc)) from None
    return changes


def _set(dev, changes: dict, evict: int) -> dict:
    """Change settings; when the device answers that the change would delete
    unsynced sessions, it is sent again only if the user allows that many
    (--evict N, or yes at the prompt on a terminal)."""
    try:
        return dev.set_config(changes, evict)
    except WouldEvict as exc:
        lost = exc.unsynced
        if lost <= 0:
            raise
    what = f"{lost} unsynced session{'' if lost == 1 else 's'}"
    if not _confirm(f"This change deletes {what} from the device at its next save. Go on? [y/N] "):
        raise InputError(f"the change would delete {what} from the device",
                         f"sync first (talkbalance sync), or allow it with --evict {lost}")
    return dev.set_config(changes, lost)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    changes = parse_changes(args.items) if args.action == "set" else None
    if args.action == "get":
        for key in args.items:
            if key not in settings.USER_KEYS:
                raise InputError(f"unknown key {key!r}", "keys: " + ", ".join(sorted(settings.USER_KEYS)))
    applies: dict = {}
    with connect(args) as dev:
        try:
            if changes is None:
                cfg = dev.config()
            else:
                answer = _set(dev, changes, args.evict)
                cfg = answer["config"]
                applies = answer.get("applies") or {}
        except ConfigRefused as exc:
            raise InputError(f"the device refused: {exc.device_message}") from None
    keys = list(changes) if changes else (args.items or sorted(cfg))
    if args.json:
        shown = {k: cfg.get(k) for k in keys}
        print(json.dumps({"config": shown, "applies": applies} if changes else shown, indent=2))
        return 0
    for key in keys:
        value = cfg.get(key)
        text = value if isinstance(value, str) else json.dumps(value)
        help_text = settings.key_help().get(key, "")
        when = APPLIES_TEXT.get(str(applies.get(key)), "") if changes else ""
        print(f"{key}={text}" + (f"  ({when})" if when else "")
              + (f"  # {help_text}" if help_text and not args.items else ""))
    return 0
