"""`talkbalance session start|stop|claim`: the button, from the laptop."""

from __future__ import annotations

import argparse
import time

from talkbalance.commands._link import add_port, connect
from talkbalance.errors import InputError

CLAIM_SECONDS = 5.0  # how long the initiator speaks while the claim is held


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "claim"),
                        help="start a session now; stop (end and save) the one in progress; "
                             "claim: the initiator speaks for a few seconds and the device takes that voice as theirs")
    add_port(parser)
    parser.add_argument("--seconds", type=float, default=CLAIM_SECONDS, metavar="S",
                        help=f"claim: how long to listen for the initiator's voice (default {CLAIM_SECONDS:g})")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.seconds <= 60:  # NaN too
        raise InputError("--seconds must be more than 0 and at most 60",
                         f"the initiator speaks for a few seconds; the default is {CLAIM_SECONDS:g}")
    with connect(args) as dev:
        device = dev.device_id
        before = dev.info()
        state = before.get("state")
        if args.action == "start":
            if state == "session":
                print(f"{device}: a session is already in progress; end it with: talkbalance session stop")
                return 0
            after = dev.session("start")
            print(f"{device}: session started (state {after.get('state')}); "
                  "end it with: talkbalance session stop, or a long press")
        elif args.action == "stop":
            after = dev.session("stop")
            if state == "session":
                saved = after.get("saved", 0) > before.get("sessions_saved", 0)
                print(f"{device}: session ended" + (" and saved; fetch it with: talkbalance sync" if saved else
                                                    ", but the device could not save it (see: talkbalance info)"))
            elif state == "listening":
                print(f"{device}: it was listening, no session yet: back to idle, nothing saved")
            else:
                print(f"{device}: no session in progress (state {state})")
        else:
            held = dev.session("claim")  # held: the device gathers the voice it hears
            print(f"{device}: initiator, speak now: listening for {args.seconds:g} s ...", flush=True)
            time.sleep(args.seconds)
            after = dev.session("claim")  # released: the device binds that voice
            if after.get("bound_by") == "claim" and held.get("bound_by") != "claim":
                print(f"{device}: the initiator is now the voice the device heard (bound by claim)")
            elif after.get("bound_by") == "claim":
                print(f"{device}: claimed again; the device keeps the earlier claim unless it heard a clear voice")
            else:
                raise InputError(f"{device}: no clear voice heard while the claim was held",
                                 "the initiator speaks throughout, then try again (--seconds for longer)")
    return 0
