"""`talkbalance ring`: preview what the LED ring shows, with the firmware's renderer.

    talkbalance ring --state session-drifting            # one truecolour terminal line
    talkbalance ring --state session --share 0.3 --png out.png
    talkbalance ring --state session-heat --gif heat.gif
    talkbalance ring --gallery docs/img/ring             # every state in docs/ring.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from talkbalance import paths, ringview
from talkbalance.errors import InputError

_SPEAKING = {"none": 0, "initiator": 1, "partner": 2, "both": 3}


def configure(parser: argparse.ArgumentParser) -> None:
    names = ", ".join(sc.name for sc in ringview.SCENARIOS)
    parser.add_argument("--state", default="session-in-band", metavar="STATE",
                        help=f"a mode ({', '.join(ringview.fwring.MODE_NAMES)}) or a named state ({names}); "
                        "default session-in-band")
    parser.add_argument("--share", type=float, help="initiator's share of talk time so far, 0..1")
    parser.add_argument("--recent", type=float, help="initiator's share over the last minutes, 0..1")
    parser.add_argument("--target", type=float, help="target share, 0..1 (default 0.3)")
    parser.add_argument("--band", type=float, help="half-width of the target band, 0..1 (default 0.05)")
    parser.add_argument("--speaking", choices=sorted(_SPEAKING), help="who is speaking now")
    parser.add_argument("--heat", type=int, help="heat level (0 calm)")
    parser.add_argument("--elapsed-min", type=float, help="minutes since the session started")
    parser.add_argument("--meeting-min", type=float, help="planned meeting length (default 40)")
    parser.add_argument("--initiator-az", type=float, help="initiator's azimuth, degrees (device frame)")
    parser.add_argument("--partner-az", type=float, help="partner's azimuth, degrees (device frame)")
    parser.add_argument("--brightness", type=int, help="brightness percent, 0..100")
    parser.add_argument("--night", action="store_true", help="night mode")
    parser.add_argument("--storage-full", action="store_true", help="storage nearly full")
    parser.add_argument("--mic-fault", action="store_true", help="microphone fault")
    parser.add_argument("--cant-hear", action="store_true",
                        help="in a session: the room is too loud to trust the share (docs/ring.md)")
    parser.add_argument("--time-ms", type=int, help="moment to draw, ms (animations)")
    parser.add_argument("--board", help="board file (default: the project's)")
    parser.add_argument("--count", type=int, help="override the ring's LED count (12, 16, 24 ...)")
    parser.add_argument("--led0", type=float, help="override LED 0's azimuth, degrees")
    parser.add_argument("--direction", choices=("ccw", "cw"), help="override the ring's direction")
    parser.add_argument("--png", help="write the frame as a PNG here")
    parser.add_argument("--gif", help="write an animated GIF here")
    parser.add_argument("--seconds", type=float, help="length of the GIF or --watch (default: the state's loop)")
    parser.add_argument("--watch", action="store_true", help="animate the terminal line in place")
    parser.add_argument("--gallery", metavar="DIR", help="write every state's images (for docs/ring.md) to DIR")


def _fraction(value: float, name: str) -> int:
    if not 0.0 <= value <= 1.0:
        raise InputError(f"--{name} must be from 0 to 1, not {value}")
    return round(value * 1000)


def _within(value: float, name: str, low: float, high: float, unit: str) -> float:
    """`value`, or InputError unless it is a number from `low` to `high`."""
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(f"--{name} must be from {low:g} to {high:g} {unit}, not {value}")
    return value


def _degrees(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise InputError(f"--{name} must be an angle in degrees, not {value}")
    return value


def state_attrs(args: argparse.Namespace, base: dict) -> dict:
    """The named state's attributes with the command-line overrides applied."""
    attrs = dict(base)
    for name, key in (("share", "share_pm"), ("recent", "recent_share_pm"), ("target", "target_pm"),
                      ("band", "band_pm")):
        value = getattr(args, name)
        if value is not None:
            attrs[key] = _fraction(value, name)
    if args.speaking is not None:
        attrs["speaking"] = _SPEAKING[args.speaking]
    if args.heat is not None:
        attrs["heat"] = max(0, args.heat)
    if args.elapsed_min is not None:
        attrs["elapsed_s"] = round(_within(args.elapsed_min, "elapsed-min", 0, 24 * 60, "minutes") * 60)
    if args.meeting_min is not None:
        attrs["meeting_s"] = round(_within(args.meeting_min, "meeting-min", 1, 24 * 60, "minutes") * 60)
    for name, key in (("initiator_az", "initiator_az"), ("partner_az", "partner_az")):
        value = getattr(args, name)
        if value is not None:
            attrs[key] = round(_degrees(value, name.replace("_", "-"))) % 360
    if args.brightness is not None:
        if not 0 <= args.brightness <= 100:
            raise InputError(f"--brightness must be from 0 to 100, not {args.brightness}")
        attrs["brightness_pct"] = args.brightness
    if args.night:
        attrs["night"] = True
    if args.storage_full:
        attrs["storage_nearly_full"] = True
    if args.mic_fault:
        attrs["mic_fault"] = True
    if args.cant_hear:
        attrs["hearing_low"] = True
    return attrs


def run(args: argparse.Namespace) -> int:
    if args.gallery:
        for path in ringview.gallery(paths.check_folder(args.gallery, "--gallery"), args.board):
            print(path)
        return 0
    sc = ringview.scenario(args.state)
    if args.count is not None and not 1 <= args.count <= 64:
        raise InputError(f"--count must be from 1 to 64, not {args.count}")
    if args.led0 is not None:
        _degrees(args.led0, "led0")
    if args.seconds is not None:
        _within(args.seconds, "seconds", 0.1, 60, "s")
    for flag, out in (("--png", args.png), ("--gif", args.gif)):
        if out:
            paths.check_output_file(out, flag)
    ring = ringview.load_ring(args.board, args.count or sc.count or None, args.led0, args.direction)
    state = ringview.make_state(state_attrs(args, sc.attrs))
    now_ms = args.time_ms if args.time_ms is not None else sc.still_ms
    loop_ms = round(args.seconds * 1000) if args.seconds else (sc.animate_ms or 2000)
    wrote = False
    if args.png:
        print(ringview.draw_png(ring, state, now_ms, args.png, sc.title))
        wrote = True
    if args.gif:
        print(ringview.draw_gif(ring, state, loop_ms, args.gif, sc.title))
        wrote = True
    if args.watch:
        start = time.monotonic()
        try:
            while (elapsed := round((time.monotonic() - start) * 1000)) < loop_ms:
                line = ringview.terminal_line(ring, ringview.render(ring, state, now_ms + elapsed))
                sys.stdout.write("\r" + line)
                sys.stdout.flush()
                time.sleep(0.04)
        finally:
            sys.stdout.write("\n")
    elif not wrote:
        print(ringview.terminal_line(ring, ringview.render(ring, state, now_ms)))
        if sc.meaning:
            print(f"{sc.title}: {sc.meaning}")
    return 0
