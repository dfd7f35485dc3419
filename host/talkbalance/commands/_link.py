"""Arguments and helpers shared by the commands that talk to the device."""

from __future__ import annotations

import argparse
import sys
import time

from talkbalance import serialports
from talkbalance.device import DEFAULT_TIMEOUT, Device
from talkbalance.errors import InputError


def add_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", metavar="PORT",
                        help="serial port or pyserial URL (loop://, socket://HOST:PORT, spy://PATH); "
                             f"default: ${serialports.PORT_ENV}, else the one talkbalance device attached")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds to wait for each answer (default {DEFAULT_TIMEOUT:g})")


_TIMEOUT_MAX_S = 600


def connect(args: argparse.Namespace) -> Device:
    """Open the device named by --port (or found by itself) and say hello."""
    if not 0 < args.timeout <= _TIMEOUT_MAX_S:  # NaN too
        raise InputError(f"--timeout must be more than 0 and at most {_TIMEOUT_MAX_S} s, not {args.timeout:g}",
                         f"the default is {DEFAULT_TIMEOUT:g}")
    dev = Device.connect(serialports.find_device(args.port), timeout=args.timeout)
    try:
        dev.hello()
    except BaseException:
        dev.close()
        raise
    return dev


def warn(message: str) -> None:
    print(f"talkbalance: {message}", file=sys.stderr)


def device_time(unix_s, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A time the device reported, as local time; any value (a device can
    answer anything) prints, one the laptop cannot show as a date as itself."""
    if isinstance(unix_s, bool) or not isinstance(unix_s, int):
        return f"not a time ({unix_s!r})"
    try:
        return time.strftime(fmt, time.localtime(unix_s))
    except (OverflowError, OSError, ValueError):
        return f"not a date this laptop can show ({unix_s} s)"
