"""`talkbalance demo`: the whole product story on one machine, no board needed.

1. make a short two-person conversation (the scene simulator);
2. run the real firmware on it in the simulated device (MicroPython unix
   port, behind a pseudo-terminal), with the LED ring shown live;
3. end the session over the serial link;
4. sync it through pyserial into a local session store;
5. print the session and write the report plot, beside the ground truth.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from talkbalance import devicesim, ringview, scenesim
from talkbalance.device import Device
from talkbalance.errors import TalkbalanceError
from talkbalance.localstore import LocalStore
from talkbalance.records import format_record
from talkbalance.recordsync import sync

Say = Callable[[str], None]


@dataclass
class DemoResult:
    record: dict
    truth: dict
    report_png: Path
    db: Path
    wall_s: float


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(out: Path, minutes: float = 3.0, speed: float = 30.0, seed: int = 7, share: float = 0.3,
             show_ring: bool = True, say: Say = _say) -> DemoResult:
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    wav, truth_path = out / "conversation.wav", out / "conversation.truth.json"
    cfg = scenesim.with_overrides(scenesim.random_config(seed, minutes=minutes), share=share)
    say(f"1/5 simulating a {minutes:g}-minute conversation: initiator aims for {100 * share:.0f}% of the talk, "
        f"room RT60 {cfg.rt60_s} s, SNR {cfg.snr_db} dB, device rotated {cfg.rotation_deg} deg")
    rendered = scenesim.render(cfg)
    scenesim.write(rendered, wav, truth_path)
    truth = json.loads(truth_path.read_text())
    say(f"    voices: {', '.join(t['voice'] for t in truth['talkers'])}; wrote {wav}")

    flash = out / "flash"
    if flash.exists():
        for f in sorted(flash.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
    devicesim.install_firmware(flash)
    leds = out / "leds.log"
    leds.unlink(missing_ok=True)
    device = devicesim.SimDevice(flash, audio=wav, speed=speed, leds=leds, log=out / "device.log")
    port = device.start()
    say(f"2/5 simulated device on {port}: the real firmware on the MicroPython unix port, "
        f"audio at {speed:g}x real time")
    db = out / "sessions.sqlite3"
    db.unlink(missing_ok=True)
    try:
        with Device.connect(port, timeout=5.0) as dev:
            hello = dev.hello()
            say(f"    device {hello['device']}, firmware {hello['firmware']}")
            _play(dev, device, leds, flash / "board.json", truth["duration_s"], speed, show_ring, say)
            dev.session("stop")
            say("3/5 session ended over the serial link")
            with LocalStore(db) as store:
                result = sync(dev, store)
                say(f"4/5 {result.summary()}")
                stored = store.all()
    finally:
        device.stop()
    if not stored:
        raise TalkbalanceError("the simulated device recorded no session", f"see {out / 'device.log'}")
    rec = stored[-1].record
    from talkbalance import meetingreport  # matplotlib: only when the report is drawn

    rep = meetingreport.session_report(rec, "demo partner", stored[-1].date_s)
    png = meetingreport.write_png(rep.figure, out / "report.png")
    say("5/5 the session as the laptop stored it:")
    say(format_record(rec))
    ini = rec["talkers"][0]
    say(f"    ground truth: initiator share {100 * truth['initiator_share']:.1f}%, "
        f"measured {100 * (ini.get('share') or 0):.1f}% "
        f"({abs(100 * ((ini.get('share') or 0) - truth['initiator_share'])):.1f} points apart)")
    say(f"    report plot: {png}")
    return DemoResult(rec, truth, png, db, time.monotonic() - t0)


def _play(dev: Device, device: devicesim.SimDevice, leds: Path, board: Path, duration_s: float, speed: float,
          show_ring: bool, say: Say) -> None:
    """Wait for the device to hear the whole recording, showing the ring."""
    ring = ringview.load_ring(board)
    follower = devicesim.LedTail(leds)
    need_frames = int(duration_s * 50)
    tty = show_ring and sys.stdout.isatty()
    last_print = 0.0
    while True:
        info = dev.info()
        frames = info.get("frames", 0)
        grb = follower.latest()
        now = time.monotonic()
        line = f"    heard {frames / 50 / 60:4.1f} of {duration_s / 60:.1f} min, state {info.get('state')}"
        if grb is not None and tty:  # colour escapes only on a terminal, never into a log
            line = ringview.terminal_line(ring, grb) + line
        if tty:
            sys.stdout.write("\r" + line + "   ")
            sys.stdout.flush()
        elif now - last_print >= 5 or frames >= need_frames:
            say(line)
            last_print = now
        if frames >= need_frames:
            break
        if not device.running and device.exit_codes and device.exit_codes[-1] != devicesim.RESTART:
            raise TalkbalanceError("the simulated device stopped", "see device.log in the demo folder")
        time.sleep(0.25)
    if tty:
        sys.stdout.write("\n")
