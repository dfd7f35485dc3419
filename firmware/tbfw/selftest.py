# Self-test routines that run on the device against the board object (the
# ESP32 board, or the simulated one): microphone levels, a channel-order tap
# check, an LED walk, a button check, flash write/read, and the cost of one
# audio frame. Each returns a dict of plain values for the link to send to
# the host; nothing here touches hardware except through the board.

import math
import os
import time

import micropython
from micropython import const

from tbfw import button

_SETTLE_FRAMES = const(20)   # frames skipped first: mic wake-up and DC settle
_FULL_SCALE = const(32768)   # Q15 full scale
_FLOOR_DB = -120.0
_TAP_OVER_DB = 20.0          # a tap is this far above the quiet peak ...
_TAP_MIN_Q15 = const(1000)   # ... and above about -30 dBFS
_LED_LEVEL = const(24)       # walk / guide brightness (before the board's cap)


@micropython.viper
def _slot_stats(buf, frames: int, slot: int, dc: int, out):
    # In: frames of 32-bit stereo words [L, R, ...]; slot 0 (L) or 1 (R); dc
    # in Q15. Each word's top 16 bits are the sample x in Q15 (sign-extended
    # so that it is right on 32- and 64-bit ports). Out (int32 x 4):
    #   out[0] = sum |x - dc|  <= 65536 * frames, < 2^31 for frames <= 32767
    #   out[1] = max |x - dc|  <= 65536
    #   out[2] = sum x         |.| <= 32768 * frames
    #   out[3] = index of the first sample with |x - dc| >= out[1] / 2
    p = ptr32(buf)
    o = ptr32(out)
    total: int = 0
    peak: int = 0
    s: int = 0
    i: int = 0
    while i < frames:
        x: int = (int(p[2 * i + slot]) >> 16) & 0xFFFF
        x = (x ^ 0x8000) - 0x8000
        s += x
        a: int = x - dc
        if a < 0:
            a = 0 - a
        total += a
        if a > peak:
            peak = a
        i += 1
    half: int = peak >> 1
    first: int = 0
    i = 0
    while i < frames:
        x2: int = (int(p[2 * i + slot]) >> 16) & 0xFFFF
        x2 = (x2 ^ 0x8000) - 0x8000
        a2: int = x2 - dc
        if a2 < 0:
            a2 = 0 - a2
        if a2 >= half:
            first = i
            break
        i += 1
    o[0] = total
    o[1] = peak
    o[2] = s
    o[3] = first


def _db(q15):
    if q15 <= 0:
        return _FLOOR_DB
    return 20.0 * math.log10(q15 / _FULL_SCALE)


def channel_slots(desc):
    """[(bus, slot)] for channel 0, 1, ... from the board file's i2s list."""
    out = [None] * desc["channels"]
    for k, bus in enumerate(desc["i2s"]):
        for slot in (0, 1):
            out[bus["channels"][slot]] = (k, slot)
    return out


def led_for_azimuth(desc, azimuth_deg):
    """Index of the ring LED nearest to an azimuth (ccw from +x)."""
    ring = desc["ring"]
    step = 360.0 / ring["count"]
    turn = (azimuth_deg - ring["led0_azimuth_deg"]) / step
    if ring["direction"] == "cw":
        turn = -turn
    return int(math.floor(turn + 0.5)) % ring["count"]


def _mic(desc, channel):
    for mic in desc["mics"]:
        if mic["channel"] == channel:
            return mic
    raise ValueError("no microphone on channel %d" % channel)


def _frame_samples(board):
    return board.frame_samples or board.desc["sample_rate_hz"] // 50


class _Meter:
    """Per-channel statistics of the board's current frame."""

    def __init__(self, board):
        import array

        self.board = board
        self.slots = channel_slots(board.desc)
        self.bufs = board.start_audio(_frame_samples(board))
        self.frames = len(self.bufs[0]) // 8
        n = len(self.slots)
        self.dc = [0] * n
        self.out = array.array("i", [0, 0, 0, 0])
        self.sum_abs = [0] * n
        self.peak = [0] * n
        self.first = [0] * n

    def measure(self):
        out = self.out
        for c, (k, slot) in enumerate(self.slots):
            _slot_stats(self.bufs[k], self.frames, slot, self.dc[c], out)
            self.sum_abs[c] = out[0]
            self.peak[c] = out[1]
            self.first[c] = out[3]
            # DC for the next frame: this frame's mean
            self.dc[c] = out[2] // self.frames

    def next(self):
        self.board.read_frame()
        self.measure()


def mic_levels(board, frames=25):
    """Level of every microphone over `frames` frames after settling.

    Per channel: rms_dbfs (from the mean absolute value, Gaussian noise
    assumed), peak_dbfs, dc (Q15), stuck (every word equal: a dead or
    missing microphone). Also the board's lost_samples and mic_fault.
    """
    meter = _Meter(board)
    for _ in range(_SETTLE_FRAMES):
        meter.next()
    n = len(meter.slots)
    total = [0] * n
    peak = [0] * n
    for _ in range(frames):
        meter.next()
        for c in range(n):
            total[c] += meter.sum_abs[c]
            if meter.peak[c] > peak[c]:
                peak[c] = meter.peak[c]
    desc = board.desc
    out = []
    for c in range(n):
        mean_abs = total[c] / (frames * meter.frames)
        out.append({
            "channel": c,
            "name": _mic(desc, c).get("name", ""),
            "rms_dbfs": round(_db(mean_abs * 1.2533), 1),
            "peak_dbfs": round(_db(peak[c]), 1),
            "dc": meter.dc[c],
            "stuck": peak[c] == 0,
        })
    return {"channels": out, "lost_samples": board.lost_samples, "mic_fault": board.mic_fault}


def _show_led(board, index, level):
    count = board.desc["ring"]["count"]
    grb = bytearray(3 * count)
    if index is not None:
        grb[3 * index] = level
        grb[3 * index + 1] = level
        grb[3 * index + 2] = level
    board.ring_write(grb)


def tap_check(board, expected, timeout_ms=10000):
    """Wait for a tap next to microphone `expected` (its LED lights).

    The channel with the highest peak in the tap frame "led". Within the
    tapped microphone's pair (one I2S bus, sample-synchronous) the nearer
    microphone must also hear it first. ok: the loudest channel is the
    expected one, so the wiring matches the board file.
    """
    desc = board.desc
    mic = _mic(desc, expected)
    az = math.degrees(math.atan2(mic["y_m"], mic["x_m"]))
    _show_led(board, led_for_azimuth(desc, az), _LED_LEVEL)
    meter = _Meter(board)
    n = len(meter.slots)
    quiet = [0] * n
    for _ in range(_SETTLE_FRAMES):
        meter.next()
        for c in range(n):
            if meter.peak[c] > quiet[c]:
                quiet[c] = meter.peak[c]
    gate = max(max(quiet) * 10 ** (_TAP_OVER_DB / 20), _TAP_MIN_Q15)
    start = time.ticks_ms()
    result = {"expected": expected, "led": None, "ok": False, "timeout": True}
    while time.ticks_diff(time.ticks_ms(), start) < timeout_ms:
        meter.next()
        if max(meter.peak) < gate:
            continue
        peaks = list(meter.peak)
        firsts = list(meter.first)
        led = peaks.index(max(peaks))
        partner = None
        for plus, minus, _spacing in desc["pair_lags"]:
            if expected in (plus, minus):
                partner = minus if expected == plus else plus
        first_ok = partner is None or firsts[expected] <= firsts[partner]
        result = {
            "expected": expected,
            "led": led,
            "ok": led == expected and first_ok,
            "first_in_pair": first_ok,
            "peaks_dbfs": [round(_db(p), 1) for p in peaks],
            "onsets": firsts,
            "timeout": False,
        }
        break
    _show_led(board, None, 0)
    return result


def led_walk(board, step_ms=80):
    """Light each LED in turn (index order), then all off; returns the count."""
    count = board.desc["ring"]["count"]
    level = min(_LED_LEVEL, board.desc["ring"]["max_brightness"])
    t0 = time.ticks_ms()
    for i in range(count):
        _show_led(board, i, level)
        time.sleep_ms(step_ms)
    _show_led(board, None, 0)
    return {"leds": count, "ms": time.ticks_diff(time.ticks_ms(), t0)}


def button_check(board, timeout_ms=10000, poll_ms=10):
    """Wait for one press and release of the button."""
    btn = button.Button()
    start = board.ticks_ms()
    stuck = board.button_pressed()
    while True:
        now = board.ticks_ms()
        if time.ticks_diff(now, start) >= timeout_ms:
            return {"ok": False, "timeout": True, "down_at_start": stuck}
        pressed = board.button_pressed()
        if not pressed:
            stuck = False
        event = btn.update(pressed, now)
        if event in (button.SHORT, button.RELEASE):
            return {"ok": True, "timeout": False, "held_ms": btn.held_ms(now), "down_at_start": False}
        time.sleep_ms(poll_ms)


def flash_check(board, nbytes=8192):
    """Write a pattern to the flash directory, read it back, remove it."""
    folder = board.flash_dir
    try:
        os.mkdir(folder)
    except OSError:
        pass  # exists already
    path = folder + "/selftest.tmp"
    data = bytearray(nbytes)
    for i in range(nbytes):
        data[i] = (i * 7 + 3) & 0xFF
    t0 = time.ticks_us()
    with open(path, "wb") as f:
        f.write(data)
    t1 = time.ticks_us()
    with open(path, "rb") as f:
        back = f.read()
    t2 = time.ticks_us()
    os.remove(path)
    result = {
        "ok": back == data,
        "bytes": nbytes,
        "write_ms": time.ticks_diff(t1, t0) / 1000,
        "read_ms": time.ticks_diff(t2, t1) / 1000,
    }
    if hasattr(os, "statvfs"):
        st = os.statvfs(folder)
        result["free_kb"] = st[0] * st[3] // 1024
    return result


def frame_cost(board, process=None, frames=50):
    """Time `process(buffers)` on live frames: the compute cost of one frame.

    Without `process`, the cost measured is the self-test's own per-channel
    statistics (a floor for any front end). Waiting for audio is not counted.
    """
    meter = _Meter(board)
    bufs = meter.bufs
    total = 0
    worst = 0
    for _ in range(frames):
        board.read_frame()
        t0 = time.ticks_us()
        if process is None:
            meter.measure()
        else:
            process(bufs)
        dt = time.ticks_diff(time.ticks_us(), t0)
        total += dt
        if dt > worst:
            worst = dt
    budget = meter.frames * 1000000 // board.desc["sample_rate_hz"]
    return {
        "frames": frames,
        "mean_us": total // frames,
        "max_us": worst,
        "budget_us": budget,
        "load_pct": round(100 * total / frames / budget, 1),
        "lost_samples": board.lost_samples,
    }
