"""`talkbalance selftest`: the device checks its microphones, ring, flash and frame cost."""

from __future__ import annotations

import argparse
import json

from talkbalance.commands._link import add_port, connect

DEFAULT = ["mics", "leds", "flash", "cost"]


def configure(parser: argparse.ArgumentParser) -> None:
    add_port(parser)
    parser.add_argument("--tap", action="store_true",
                        help="also the channel-order check: tap next to each microphone as its LED lights")
    parser.add_argument("--button", action="store_true", help="also the button check: press it once when asked")
    parser.add_argument("--json", action="store_true", help="print the device's answer as JSON")


def describe(name: str, res: dict) -> str:
    mark = "ok  " if res.get("ok") else "FAIL"
    if name == "mics":
        levels = ", ".join(f"ch{i} {v:.0f} dBFS" for i, v in enumerate(res.get("levels_db", [])))
        extra = f"; dead channels mask {res['dead_mask']}" if res.get("dead_mask") else ""
        return f"{mark} microphones: {levels}{extra}, {res.get('clip_count', 0)} clipped samples"
    if name == "leds":
        return f"{mark} ring: walked {res.get('leds')} LEDs in {res.get('ms')} ms"
    if name == "flash":
        return f"{mark} flash: wrote and read back {res.get('bytes', '?')} bytes"
    if name == "cost":  # the loop's own frames: the self-test's steps are counted apart
        return (f"{mark} frame cost: mean {res.get('mean_us')} us, worst {res.get('worst_us')} us of "
                f"{res.get('budget_us')} us ({res.get('load_pct')}% of a core), {res.get('overruns')} overruns, "
                f"{res.get('lost_samples')} samples lost")
    if name == "tap":
        if "error" in res:
            return f"{mark} channel order: {res['error']}"
        got = ", ".join(f"ch{c.get('expected')}->{c.get('led')}" for c in res.get("channels", []))
        return f"{mark} channel order (tapped -> loudest): {got}"
    if name == "button":
        return f"{mark} button: {'pressed and released' if res.get('ok') else 'no press seen'}"
    return f"{mark} {name}: {res}"


def describe_hold(res: dict) -> str:
    """What the self-test cost the audio loop it ran in."""
    return (f"     the self-test ran over {res.get('frames')} audio frames and held the loop "
            f"{res.get('held_ms')} ms in all (at most {res.get('worst_hold_us')} us in one frame); "
            f"{res.get('lost_samples')} samples lost meanwhile")


def run(args: argparse.Namespace) -> int:
    tests = DEFAULT + (["tap"] if args.tap else []) + (["button"] if args.button else [])
    interactive = args.tap or args.button
    with connect(args) as dev:
        if interactive:
            print("follow the ring: tap by the lit microphone, press the button when asked")
        result = dev.selftest(tests, timeout=max(args.timeout, 60 if interactive else 15))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name in tests:
            print(describe(name, result.get(name, {})))
        if isinstance(result.get("selftest"), dict):
            print(describe_hold(result["selftest"]))
        print("self-test passed" if result.get("ok") else "self-test FAILED")
    return 0 if result.get("ok") else 1
