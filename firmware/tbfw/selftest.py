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

from tbfw import button, ring, session
from tbfw.link import DEFERRED, CommandError
from tbfw.wire import E_BAD_ARG, E_BUSY, E_INTERNAL

_SETTLE_FRAMES = const(20)   # frames skipped first: mic wake-up and DC settle
_FULL_SCALE = const(32768)   # Q15 full scale
_FLOOR_DB = -120.0
_TAP_OVER_DB = 20.0          # a tap is this far above the quiet peak ...
_TAP_MIN_Q15 = const(1000)   # ... and above about -30 dBFS
_LED_LEVEL = const(24)       # walk / guide brightness (before the board's cap)
# After a flash test the answer waits this long, so that the audio a flash
# write cost (the board checks for lost samples once a second) is in it.
_LOSS_WINDOW_MS = const(1100)


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


class TapCheck:
    """Wait for a tap next to microphone `expected` (its LED lights), one
    audio frame per step() call: the caller reads the frame first.

    The channel with the highest peak in the tap frame "led". Within the
    tapped microphone's pair (one I2S bus, sample-synchronous) the nearer
    microphone must also hear it first. ok: the loudest channel is the
    expected one, so the wiring matches the board file.
    """

    def __init__(self, board, expected, timeout_ms=10000, meter=None):
        desc = board.desc
        mic = _mic(desc, expected)
        az = math.degrees(math.atan2(mic["y_m"], mic["x_m"]))
        _show_led(board, ring.from_board(desc).led_of(az), _LED_LEVEL)
        self.board = board
        self.expected = expected
        self.timeout_ms = timeout_ms
        self.meter = meter if meter is not None else _Meter(board)
        self.quiet = [0] * len(self.meter.slots)
        self.settled = 0
        self.gate = 0
        self.start = 0

    def step(self, now_ms):
        """The result once the tap is heard or the time is up, else None."""
        meter = self.meter
        meter.measure()
        if self.settled < _SETTLE_FRAMES:
            for c in range(len(self.quiet)):
                if meter.peak[c] > self.quiet[c]:
                    self.quiet[c] = meter.peak[c]
            self.settled += 1
            if self.settled == _SETTLE_FRAMES:
                self.gate = max(max(self.quiet) * 10 ** (_TAP_OVER_DB / 20), _TAP_MIN_Q15)
                self.start = now_ms
            return None
        expected = self.expected
        if time.ticks_diff(now_ms, self.start) >= self.timeout_ms:
            result = {"expected": expected, "led": None, "ok": False, "timeout": True}
        elif max(meter.peak) < self.gate:
            return None
        else:
            peaks = list(meter.peak)
            firsts = list(meter.first)
            led = peaks.index(max(peaks))
            partner = None
            for plus, minus, _spacing in self.board.desc["pair_lags"]:
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
        _show_led(self.board, None, 0)
        return result


def tap_check(board, expected, timeout_ms=10000):
    """TapCheck on its own, reading the frames itself (not from the app loop)."""
    check = TapCheck(board, expected, timeout_ms)
    while True:
        board.read_frame()
        result = check.step(time.ticks_ms())
        if result is not None:
            return result


class LedWalk:
    """Light each LED in turn (index order) for `step_ms`, then all off; one
    step() call per loop frame, never waiting."""

    def __init__(self, board, step_ms=80):
        self.board = board
        self.count = board.desc["ring"]["count"]
        self.level = min(_LED_LEVEL, board.desc["ring"]["max_brightness"])
        self.step_ms = step_ms
        self.lit = -1
        self.t0 = 0
        self.since = 0

    def step(self, now_ms):
        """{"leds", "ms"} once the walk is over, else None."""
        if self.lit < 0:
            self.t0 = self.since = now_ms
        elif time.ticks_diff(now_ms, self.since) < self.step_ms:
            return None
        self.lit += 1
        self.since = now_ms
        if self.lit < self.count:
            _show_led(self.board, self.lit, self.level)
            return None
        _show_led(self.board, None, 0)
        return {"leds": self.count, "ms": time.ticks_diff(now_ms, self.t0)}


def led_walk(board, step_ms=80):
    """LedWalk on its own, sleeping between steps; returns the count."""
    walk = LedWalk(board, step_ms)
    while True:
        result = walk.step(time.ticks_ms())
        if result is not None:
            return result
        time.sleep_ms(1)


class ButtonCheck:
    """Wait for one press and release of the button; one step() per loop
    frame (the app leaves the button to the check meanwhile)."""

    def __init__(self, board, timeout_ms=10000):
        self.board = board
        self.timeout_ms = timeout_ms
        self.btn = button.Button()
        self.start = None
        self.stuck = False

    def step(self, now_ms):
        board = self.board
        if self.start is None:
            self.start = now_ms
            self.stuck = board.button_pressed()
        if time.ticks_diff(now_ms, self.start) >= self.timeout_ms:
            return {"ok": False, "timeout": True, "down_at_start": self.stuck}
        pressed = board.button_pressed()
        if not pressed:
            self.stuck = False
        event = self.btn.update(pressed, now_ms)
        if event in (button.SHORT, button.RELEASE):
            return {"ok": True, "timeout": False, "held_ms": self.btn.held_ms(now_ms), "down_at_start": False}
        return None


def button_check(board, timeout_ms=10000, poll_ms=10):
    """ButtonCheck on its own, polling every `poll_ms`."""
    check = ButtonCheck(board, timeout_ms)
    while True:
        result = check.step(board.ticks_ms())
        if result is not None:
            return result
        time.sleep_ms(poll_ms)


class FlashCheck:
    """Write a pattern to the flash directory, read it back, remove it: one
    flash operation per step() and at least `gap_ms` between them. A flash
    write stalls the CPU and the I2S interrupt (an erase takes tens of ms on
    the ESP32): one operation at a time, with frames between for the loop
    to catch up on the queued audio, keeps each stall under what the I2S
    queue holds (160 ms)."""

    def __init__(self, board, nbytes=2048, gap_ms=200):
        self.folder = board.flash_dir
        self.path = self.folder + "/selftest.tmp"
        self.nbytes = nbytes
        self.gap_ms = gap_ms
        self.stage = 0
        self.since = 0
        self.data = None
        self.result = {"ok": False, "bytes": nbytes}

    def _pattern(self):
        data = bytearray(self.nbytes)
        for i in range(self.nbytes):
            data[i] = (i * 7 + 3) & 0xFF
        return data

    def step(self, now_ms):
        """The result once the file is written, read back and removed."""
        if self.stage and time.ticks_diff(now_ms, self.since) < self.gap_ms:
            return None
        self.since = now_ms
        stage = self.stage
        self.stage = stage + 1
        t0 = time.ticks_us()
        if stage == 0:
            try:
                os.mkdir(self.folder)
            except OSError:
                pass  # exists already
            self.data = self._pattern()
            with open(self.path, "wb") as f:
                f.write(self.data)
            self.result["write_ms"] = time.ticks_diff(time.ticks_us(), t0) / 1000
            return None
        if stage == 1:
            with open(self.path, "rb") as f:
                back = f.read()
            self.result["read_ms"] = time.ticks_diff(time.ticks_us(), t0) / 1000
            self.result["ok"] = back == self.data
            self.data = None
            return None
        os.remove(self.path)
        self.result["remove_ms"] = time.ticks_diff(time.ticks_us(), t0) / 1000
        if hasattr(os, "statvfs"):
            st = os.statvfs(self.folder)
            self.result["free_kb"] = st[0] * st[3] // 1024
        return self.result


def flash_check(board, nbytes=2048):
    """FlashCheck on its own, without pauses between the operations."""
    check = FlashCheck(board, nbytes, gap_ms=0)
    while True:
        result = check.step(time.ticks_ms())
        if result is not None:
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


# -- the self-test a request runs in the app loop ----------------------------

DEFAULT = ("mics", "leds", "flash", "cost")
KNOWN = ("mics", "leds", "flash", "cost", "tap", "button")


def request(app, tests=None):
    """The `selftest` request (tbfw.answers): a Job that the app's loop runs
    a step per frame (App.step); the answer follows when it is done
    (tbfw.link.DEFERRED). Refused during a session (the ring walk would
    hide the session) and while another self-test runs."""
    if app.conv.state == session.SESSION:
        raise CommandError(E_BUSY, "a session is running; end it first")
    if app.job is not None:
        raise CommandError(E_BUSY, "a self-test is running")
    try:
        app.job = Job(app, tests)
    except ValueError as exc:
        raise CommandError(E_BAD_ARG, str(exc))
    return DEFERRED


class Job:
    """One `selftest` request, run by the app loop one bounded step per
    audio frame, so the loop goes on reading audio and feeding the watchdog
    while the ring walks or a tap or press is awaited. Each test runs at
    most once per request (at most len(KNOWN) tests). The app's loop runs each
    step through run(), which times it and hands the time to held(): the
    time the self-test held the loop is reported apart (the answer's "selftest"), never as overruns of
    the loop it shares.

    Tests: "mics" (live levels, dead and clipping channels from the front
    end), "leds" (a walk round the ring), "flash" (write, read back,
    remove: an operation at a time, frames apart), "cost" (the loop's own frame cost), and on request "tap" (tap
    by each microphone in turn; checks the wiring against the board file)
    and "button".
    """

    def __init__(self, app, tests=None):
        names = list(DEFAULT) if not tests else tests
        for i, name in enumerate(names):
            if name not in KNOWN:
                raise ValueError("unknown self-test %s; known: %s" % (name, ", ".join(KNOWN)))
            if name in names[:i]:
                raise ValueError("self-test %s asked twice" % name)
        self.app = app
        self.board = app.board
        self.tests = names
        self.out = {}
        self.ok = True
        self._next = 0
        self._name = None
        self._check = None
        self._taps = []
        self._tap_results = []
        self._meter = None
        self.frames = 0
        self.held_us = 0
        self.worst_us = 0
        self._lost0 = self.board.lost_samples
        self._flash_done = -1  # ticks_ms when the flash test ended

    @property
    def uses_ring(self):
        return self._name in ("leds", "tap")

    @property
    def uses_button(self):
        return self._name == "button"

    def run(self, now_ms):
        """One step as the app's loop runs it (App.step, while this is its
        job): timed, and a fault in a test ends the self-test, not the loop;
        the answer is sent when the last test is done. Returns the time the
        step took, in us (the app leaves it out of its own frame cost)."""
        app = self.app
        t0 = time.ticks_us()
        try:
            done = self.step(now_ms)
        except Exception as exc:  # a fault in a test ends the self-test, not the loop
            app.job = None
            app.link.refuse_deferred(E_INTERNAL, "self-test failed: %s: %s" % (type(exc).__name__, exc))
            done = False
        held = time.ticks_diff(time.ticks_us(), t0)
        if done:
            app.job = None
            self.held(held)
            app.link.answer_deferred(self.result())
        elif app.job is not None:
            self.held(held)
        return held

    def held(self, us):
        """The app's measure of one step()."""
        self.held_us += us
        if us > self.worst_us:
            self.worst_us = us

    def step(self, now_ms):
        """Advance by one bounded piece; True when every test is done."""
        self.frames += 1
        if self._check is not None:
            res = self._check.step(now_ms)
            if res is not None:
                self._checked(res, now_ms)
            return False
        if self._next >= len(self.tests):
            return self._flash_done < 0 or time.ticks_diff(now_ms, self._flash_done) >= _LOSS_WINDOW_MS
        name = self.tests[self._next]
        self._next += 1
        self._start(name, now_ms)
        return False

    def result(self):
        out = self.out
        out["ok"] = self.ok
        out["selftest"] = {"frames": self.frames, "held_ms": round(self.held_us / 1000, 1),
                           "worst_hold_us": self.worst_us,
                           "lost_samples": self.board.lost_samples - self._lost0}
        return out

    def _done(self, name, res):
        self.ok = self.ok and bool(res.get("ok", False))
        self.out[name] = res
        self._name = None
        self._check = None

    def _start(self, name, now_ms):
        app = self.app
        board = self.board
        self._name = name
        if name == "mics":
            fe = app.pipe.fe
            self._done(name, {"ok": not fe.dead_mask, "levels_db": [v / 256 for v in fe.level_db_q8],
                              "dead_mask": fe.dead_mask, "clip_count": fe.clip_count})
        elif name == "leds":
            self._check = LedWalk(board)
            self._check.step(now_ms)
        elif name == "flash":
            self._check = FlashCheck(board)
            self._check.step(now_ms)
        elif name == "cost":
            self._done(name, _loop_cost(app))
        elif name == "tap":
            if getattr(board, "frame_format", "i2s") == "pcm16":
                self._done(name, {"ok": False, "error": "needs the I2S microphones of a real board"})
                return
            self._taps = [mic["channel"] for mic in board.desc["mics"]]
            self._tap_results = []
            self._meter = _Meter(board)
            self._check = TapCheck(board, self._taps.pop(0), meter=self._meter)
        else:  # "button"
            self._check = ButtonCheck(board)

    def _checked(self, res, now_ms):
        name = self._name
        if name == "leds":
            res["ok"] = res["leds"] == self.app.ring.count
        elif name == "flash":
            self._flash_done = now_ms
        elif name == "tap":
            self._tap_results.append(res)
            if self._taps:
                self._check = TapCheck(self.board, self._taps.pop(0), meter=self._meter)
                return
            ok = True
            for one in self._tap_results:
                ok = ok and one.get("ok", False)
            res = {"ok": ok, "channels": self._tap_results}
            self._meter = None
        self._done(name, res)


def _loop_cost(app):
    """The app's loop's own frame cost (self-test steps left out) and the
    audio it lost: the "cost" test."""
    budget = app.frame_ms * 1000
    mean = app.cost_sum_us // app.cost_frames if app.cost_frames else 0
    return {"ok": app.overruns == 0, "mean_us": mean, "worst_us": app.worst_frame_us,
            "budget_us": budget, "load_pct": round(100 * mean / budget, 1), "frames": app.frames,
            "overruns": app.overruns, "lost_samples": getattr(app.board, "lost_samples", 0)}
