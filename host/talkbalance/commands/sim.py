"""`talkbalance sim`: run a simulated device; its serial port path is the first output line."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from talkbalance import boardfile, devicesim, ringview, simports


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", help="WAV recording the microphones hear (default: a quiet room)")
    parser.add_argument("--flash", help="directory standing in for the flash (default: a temporary one)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="audio pace, times real time (0: as fast as it goes); default 1")
    parser.add_argument("--board", help="board file to install on a fresh flash")
    parser.add_argument("--blank", action="store_true",
                        help="leave a fresh flash empty (MicroPython only), e.g. to try `talkbalance deploy`")
    parser.add_argument("--compiled", action="store_true", help="install the firmware as .mpy files")
    parser.add_argument("--heapsize", help="MicroPython heap limit, e.g. 96k (a plain ESP32 has about 100 KB)")
    parser.add_argument("--button", help="button script: lines '<audio ms> down|up'")
    parser.add_argument("--ring", action="store_true", help="show the LED ring live in this terminal")
    parser.add_argument("--log", help="write the device's log here (default: stderr)")


def run(args: argparse.Namespace) -> int:
    devicesim.check_speed(args.speed, "sim")
    desc = boardfile.load(args.board) if args.board else None
    if args.flash and (Path(args.flash) / "board.json").is_file():
        desc = boardfile.load(Path(args.flash) / "board.json")
    tmp = tempfile.TemporaryDirectory(prefix="tb-sim-")
    try:
        audio = devicesim.board_audio(args.audio, desc or boardfile.load(), Path(tmp.name)) if args.audio else None
        return _run(args, audio, tmp)
    finally:
        tmp.cleanup()


def _run(args: argparse.Namespace, audio: Path | None, tmp: tempfile.TemporaryDirectory) -> int:
    flash = Path(args.flash) if args.flash else Path(tmp.name) / "flash"
    if not args.blank and not (flash / "main.py").exists():
        devicesim.install_firmware(flash, compiled=args.compiled, board=Path(args.board) if args.board else None)
    leds = flash / "leds.log" if args.ring else None
    device = devicesim.SimDevice(flash, audio=audio, speed=args.speed, leds=leds, button=args.button,
                           heapsize=args.heapsize, log=args.log)
    port = device.start()
    print(port, flush=True)
    with simports.registered(port, flash):
        return _serve(args, device, flash, leds)


def _serve(args: argparse.Namespace, device: devicesim.SimDevice, flash: Path, leds: Path | None) -> int:
    stop = {"now": False}

    def _stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        ring = ringview.load_ring(flash / "board.json") if args.ring and (flash / "board.json").exists() else None
        follower = devicesim.LedTail(leds) if ring is not None and leds is not None else None
        while not stop["now"]:
            if follower is not None and ring is not None:
                grb = follower.latest()
                if grb is not None:
                    sys.stderr.write("\r" + ringview.terminal_line(ring, grb) + "  ")
                    sys.stderr.flush()
            if not device.running and device.exit_codes and device.exit_codes[-1] != devicesim.RESTART:
                print(f"talkbalance: the simulated device stopped (exit {device.exit_codes[-1]})", file=sys.stderr)
                return 1
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
    return 0
