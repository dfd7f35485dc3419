# The ESP32 / ESP32-S3 board: I2S microphones, WS2812 ring, button, RTC,
# watchdog, unique id and the USB serial link. The only firmware module that
# imports machine / neopixel / esp; everything else gets this object.
#
# Audio: one I2S receiver per microphone pair, 32-bit stereo (the INMP441's
# 24-bit sample sits in bits 31..8 of each slot). Buffer k of start_audio()
# holds frame_samples little-endian words [L0, R0, L1, R1, ...] of bus
# desc["i2s"][k]; its "channels" list names the channel in the L slot, then
# the one in the R slot (that microphone's L/R pin tied to 3V3).
#
# Reads never wait much longer than one frame: after start_audio() each I2S
# object is polled once, which switches it to partial, non-blocking reads;
# read_frame() then collects each bus's frame with 1 ms sleeps until a
# deadline of 1.5 frame periods plus one DMA buffer (256 samples: the driver
# hands data over in whole DMA buffers; 46 ms for 20 ms frames at 16 kHz),
# and fills what did not come with zeros.
#
# Lost audio: I2S overflow drops the oldest DMA buffer without a word. For
# each bus the board keeps deficit = samples the clock says were produced
# minus samples delivered. When the loop keeps up (a read had to wait), the
# deficit right after a read is what has gone missing plus what is queued,
# and the queue is then nearly empty (at most one DMA buffer). Once per
# second the smallest deficit of the second is taken: half a DMA buffer or
# more counts as lost (attribute lost_samples, summed over buses); anything
# smaller is clock drift and becomes the new baseline. A loop that never
# catches up for a whole second is charged whatever exceeds the queue.
#
# Faults: a bus that delivers nothing for _STALL_FRAMES frames, or a channel
# whose words are all equal for _STUCK_MS (a dead or missing microphone: the
# SD line has a pull-down, so it reads zeros), sets mic_fault; read_frame
# keeps returning frames (zeros) and never raises for it.
#
# Warm-up: the INMP441 needs 2^18 SCK cycles after its clock starts; the
# first _WARMUP_MS of audio are delivered as zeros. The front end has its
# own warm-up (DC estimate) on top of this.

import select
import sys
import time

import machine
import micropython
import neopixel
from micropython import const

from tbfw import config

_BOARD_FILE = "/board.json"
_WORD_BYTES = const(8)        # one I2S frame: left and right 32-bit slots
_DMA_FRAMES = const(256)      # frames per DMA buffer (MicroPython esp32 port)
_DMA_BYTES = const(2048)      # _DMA_FRAMES * _WORD_BYTES
# Audio the queue holds while the loop is stalled. ESP-IDF's RX queue holds
# desc_num - 1 buffers (the one being filled is not in it): 9 of the 10
# buffers, 144 ms at 16 kHz.
_RIDE_MS = const(144)
_MIN_FRAMES_QUEUED = const(3)  # and at least this many frames
_LOSS_MIN = const(128)        # half a DMA buffer: a smaller shortfall is drift
_WARMUP_MS = const(300)
_STUCK_MS = const(500)
_STALL_FRAMES = const(3)
_WINDOW_MS = const(1000)
_WAIT_MS = const(1)
_POLL_RD = const(1)

_SERIAL_WRITE_MAX = const(256)  # bytes per serial_write call
# The UART REPL (UART0, 115200 baud, 10 bits a byte; on the S3 it runs beside
# USB-CDC and gets every byte too): the port fills the 128-byte TX FIFO and
# then sleeps one 10 ms FreeRTOS tick per refill. A write that fits in the
# FIFO's free space returns at once, so the board writes no more than that:
# free space = FIFO - (bytes written - bytes the line has sent since).
_UART_FIFO = const(128)
_UART_BYTES_PER_S = const(11520)
_UART_DRAIN_US = const(11112)  # a full FIFO drains in 128 / 11520 s
_LOG_WAITING = const(4)
_LF = const(10)
_SLOW_WRITE_MS = const(20)      # a write this slow means the host is not reading
_HOLD_MIN_MS = const(1000)      # then writes are skipped, doubling up to:
_HOLD_MAX_MS = const(30000)

_WDT_DEFAULT_MS = const(8000)
_WDT_RELAXED_MS = const(86400000)  # the task watchdog cannot be stopped: 24 h

_CAP_DMA = const(0x8)         # ESP-IDF MALLOC_CAP_DMA: DMA-capable (internal) RAM
_CAP_INTERNAL = const(0x800)  # MALLOC_CAP_INTERNAL: on the chip, not PSRAM

_UNIX_2000 = const(946684800)  # 2000-01-01 in Unix seconds (the RTC's epoch)
_UNIX_2020 = const(1577836800)  # an RTC before this has not been set
# Written to RTC memory when the clock is set: RTC memory, like the RTC,
# lives through soft and watchdog resets and deep sleep, not power loss.
_CLOCK_SET_MARK = b"tb-clock-set"


@micropython.viper
def _copy_words(dst, dst_off: int, src, nbytes: int):
    # Copy nbytes (a multiple of 4) from src[0:] to dst[dst_off:]; dst_off a
    # multiple of 4. No arithmetic on the samples.
    d = ptr32(dst)
    s = ptr32(src)
    base: int = dst_off >> 2
    n: int = nbytes >> 2
    i: int = 0
    while i < n:
        d[base + i] = s[i]
        i += 1


@micropython.viper
def _zero_words(dst, start: int, end: int):
    # Zero dst[start:end]; both multiples of 4.
    d = ptr32(dst)
    i: int = start >> 2
    n: int = end >> 2
    while i < n:
        d[i] = 0
        i += 1


@micropython.viper
def _stuck_mask(buf, frames: int) -> int:
    # In: frames of 32-bit stereo words [L, R, ...]. Out: bit 0 set when every
    # L word equals the first, bit 1 the same for R. Compares raw words
    # loaded the same way, so the word size of the port does not matter.
    p = ptr32(buf)
    left = p[0]
    right = p[1]
    mask: int = 3
    i: int = 1
    while i < frames and mask != 0:
        if p[2 * i] != left:
            mask = mask & 2
        if p[2 * i + 1] != right:
            mask = mask & 1
        i += 1
    return mask


def _read(i2s, buf, nbytes):
    # Non-blocking read of up to nbytes (whole frames) into buf[0:]; 0 when
    # the DMA queue is empty, whether the port returns 0, None or raises.
    try:
        # readinto is the stream method (buf, maxlen); the stubs omit maxlen.
        return i2s.readinto(buf, nbytes) or 0  # pyright: ignore[reportCallIssue]
    except OSError:
        return 0


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a Gregorian date (H. Hinnant's algorithm)."""
    year -= 1 if month <= 2 else 0
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days):
    """(year, month, day) of a day count since 1970-01-01."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def ibuf_bytes(rate_hz, frame_samples):
    """I2S ibuf: whole DMA buffers whose queue (all buffers but the one
    being filled) holds _RIDE_MS of audio and 3 frames."""
    frames = max(rate_hz * _RIDE_MS // 1000, _MIN_FRAMES_QUEUED * frame_samples)
    return ((frames + _DMA_FRAMES - 1) // _DMA_FRAMES + 1) * _DMA_BYTES


class Esp32Board:
    def __init__(self, desc, stdin=None, stdout=None):
        self.desc = desc
        self.config_path = "/config.json"
        self.flash_dir = "/data"
        self.lost_samples = 0
        self.mic_fault = False
        self.fault_channels = 0   # bit c set: channel c stuck or its bus silent
        self.frames = 0
        self.frame_samples = 0
        ring = desc["ring"]
        self._np = neopixel.NeoPixel(machine.Pin(ring["pin"], machine.Pin.OUT), ring["count"], bpp=3, timing=1)
        self._ring_bytes = 3 * ring["count"]
        button = desc["button"]
        self._active_low = button.get("active_low", True)
        pull = machine.Pin.PULL_UP if self._active_low else machine.Pin.PULL_DOWN
        self._button = machine.Pin(button["pin"], machine.Pin.IN, pull)
        self._rtc = machine.RTC()
        self._second = 0
        self._second_ms = -1  # ticks_ms when self._second began; -1: unknown
        self._wdt = None
        self._wdt_ms = desc.get("wdt_ms", _WDT_DEFAULT_MS)
        # USB serial: poll the text stream, read and write the raw one.
        self._in = stdin if stdin is not None else sys.stdin.buffer
        self._out = stdout if stdout is not None else sys.stdout.buffer
        self._in_poll = select.poll()
        self._in_poll.register(stdin if stdin is not None else sys.stdin, select.POLLIN)
        self._one = bytearray(1)
        self._hold_ms = 0
        self._hold_from = 0
        self._fifo_bytes = 0       # in the UART FIFO at _fifo_us, by the line's rate
        self._fifo_us = time.ticks_us()
        self._mid_line = False     # the last write ended inside a line
        self._log_lines = []       # log lines waiting for the end of a frame
        self.log_dropped = 0
        self._i2s = []
        self._bufs = []

    # -- audio
    def start_audio(self, frame_samples):
        """Create the I2S receivers and the frame buffers (once)."""
        if self._bufs:
            if frame_samples != self.frame_samples:
                raise ValueError("audio already started with %d-sample frames" % self.frame_samples)
            return self._bufs
        desc = self.desc
        rate = desc["sample_rate_hz"]
        self.frame_samples = frame_samples
        ibuf = ibuf_bytes(rate, frame_samples)
        Pin = machine.Pin
        poll = select.poll()
        for bus in desc["i2s"]:
            i2s = machine.I2S(
                bus["id"],
                sck=Pin(bus["sck"]),
                ws=Pin(bus["ws"]),
                sd=Pin(bus["sd"], Pin.IN, Pin.PULL_DOWN),
                mode=machine.I2S.RX,
                bits=32,
                format=machine.I2S.STEREO,
                rate=rate,
                ibuf=ibuf,
            )
            self._i2s.append(i2s)
            self._bufs.append(bytearray(frame_samples * _WORD_BYTES))
            # MicroPython's poll takes any stream object (CPython's wants a fileno).
            poll.register(i2s, _POLL_RD)  # pyright: ignore[reportArgumentType]
        poll.poll(0)  # switches every receiver to partial, non-blocking reads
        nbus = len(self._i2s)
        self._scratch = bytearray(_DMA_BYTES)
        self._chan = []
        for bus in desc["i2s"]:
            self._chan.append(bus["channels"][0])
            self._chan.append(bus["channels"][1])
        self._stuck = [0] * (2 * nbus)
        self._short = [0] * nbus
        g = _gcd(rate, 1000000)
        self._num = rate // g          # samples = us * num / den
        self._den = 1000000 // g
        self._acc = 0
        self._t_us = time.ticks_us()
        self._deficit = [0] * nbus
        self._win_min = [0] * nbus
        self._noted = [0] * nbus
        self._waited = False
        self._win_frames = max(1, _WINDOW_MS * rate // 1000 // frame_samples)
        self._win_count = 0
        self._calibrated = False
        self._cap_frames = ibuf // _WORD_BYTES - _DMA_FRAMES  # the queue: all buffers but one
        # Data arrives in whole DMA buffers: a frame can be complete up to one
        # DMA buffer after its last sample. Wait that long plus half a frame.
        self._wait_us = (frame_samples * 3 // 2 + _DMA_FRAMES) * 1000000 // rate
        self._warmup = rate * _WARMUP_MS // 1000
        self._stuck_limit = max(1, _STUCK_MS * rate // 1000 // frame_samples)
        return self._bufs

    def _advance(self):
        # Samples produced by the clock since the last call, added to each deficit.
        now = time.ticks_us()
        self._acc += time.ticks_diff(now, self._t_us) * self._num
        self._t_us = now
        produced = self._acc // self._den
        if produced:
            self._acc -= produced * self._den
            d = self._deficit
            for k in range(len(d)):
                d[k] += produced

    def _note(self, k, missing):
        if self._noted[k] == 0 or missing < self._win_min[k]:
            self._win_min[k] = missing
        self._noted[k] += 1

    def _empty(self, k, got_frames):
        # The queue of bus k is empty now: what is missing is lost (or drift).
        self._advance()
        self._note(k, self._deficit[k] - got_frames)
        self._waited = True

    def _fill(self, k, deadline):
        i2s = self._i2s[k]
        buf = self._bufs[k]
        need = len(buf)
        got = _read(i2s, buf, need)
        scratch = self._scratch
        while got < need:
            self._empty(k, got // _WORD_BYTES)
            if time.ticks_diff(deadline, time.ticks_us()) <= 0:
                break
            time.sleep_ms(_WAIT_MS)
            n = _read(i2s, scratch, min(need - got, _DMA_BYTES))
            if n:
                _copy_words(buf, got, scratch, n)
                got += n
        self._deficit[k] -= got // _WORD_BYTES
        # Right after a read the queue holds at most what arrived meanwhile.
        self._note(k, self._deficit[k])
        if got < need:
            _zero_words(buf, got, need)
            self._short[k] += 1
        else:
            self._short[k] = 0
        return got == need

    def read_frame(self):
        """Fill the buffers with the next frame; True (audio never ends here).

        Cost besides waiting for audio (two buses, 320-sample frames, data
        ready): 16-27 us on the x86-64 unix port, so about 1 ms on a 240 MHz
        ESP32 core (x50, unmeasured on the board); no heap allocation
        (tests/fw/fwtest_board_esp32.py). Logs warn-audio-lost and
        warn-mic-fault lines when those happen.
        """
        if not self._bufs:
            self.start_audio(self.desc["sample_rate_hz"] // 50)
        self._advance()
        deadline = time.ticks_add(time.ticks_us(), self._wait_us)
        fault = 0
        for k in range(len(self._bufs)):
            full = self._fill(k, deadline)
            c0 = self._chan[2 * k]
            c1 = self._chan[2 * k + 1]
            if self._short[k] >= _STALL_FRAMES:
                fault |= (1 << c0) | (1 << c1)
            if full and self._warmup <= 0:
                mask = _stuck_mask(self._bufs[k], self.frame_samples)
                self._stuck[2 * k] = self._stuck[2 * k] + 1 if mask & 1 else 0
                self._stuck[2 * k + 1] = self._stuck[2 * k + 1] + 1 if mask & 2 else 0
            if self._stuck[2 * k] >= self._stuck_limit:
                fault |= 1 << c0
            if self._stuck[2 * k + 1] >= self._stuck_limit:
                fault |= 1 << c1
        if self._warmup > 0:
            self._warmup -= self.frame_samples
            for buf in self._bufs:
                _zero_words(buf, 0, len(buf))
        if fault != self.fault_channels:
            self.log("warn-mic-fault channels 0x%x" % fault if fault else "mic-fault-cleared")
        self.fault_channels = fault
        self.mic_fault = fault != 0
        self._window()
        self.frames += 1
        if self._log_lines:
            self._flush_log()
        return True

    def _window(self):
        self._win_count += 1
        if self._win_count < self._win_frames:
            return
        self._win_count = 0
        lost_before = self.lost_samples
        for k in range(len(self._deficit)):
            if self._waited:
                # The loop kept up: the smallest deficit seen is what went missing.
                missing = self._win_min[k]
                if self._calibrated and missing >= _LOSS_MIN:
                    self.lost_samples += missing
                self._deficit[k] -= missing
            elif self._deficit[k] > self._cap_frames + _DMA_FRAMES:
                # Never caught up: more is owed than the queue can hold.
                over = self._deficit[k] - self._cap_frames
                self.lost_samples += over
                self._deficit[k] -= over
            self._noted[k] = 0
        self._calibrated = self._calibrated or self._waited
        self._waited = False
        if self.lost_samples != lost_before:
            self.log("warn-audio-lost %d samples (%d in all)" % (self.lost_samples - lost_before, self.lost_samples))

    def stop_audio(self):
        for i2s in self._i2s:
            i2s.deinit()
        self._i2s = []
        self._bufs = []

    # -- ring and button
    def ring_write(self, grb):
        """Send 3 * count GRB bytes to the ring (blocks ~30 us per LED)."""
        if len(grb) != self._ring_bytes:
            raise ValueError("ring_write needs %d bytes, got %d" % (self._ring_bytes, len(grb)))
        _copy_bytes(self._np.buf, grb, self._ring_bytes)
        self._np.write()

    def button_pressed(self):
        level = self._button.value()
        return level == 0 if self._active_low else level == 1

    # -- serial link (USB-CDC on the S3, UART0 on the ESP32)
    def serial_read(self, buf):
        """Bytes waiting on the serial input, up to len(buf); 0 when none."""
        n = 0
        cap = len(buf)
        one = self._one
        while n < cap and config.read_waiting_byte(self._in_poll, self._in, one):
            buf[n] = one[0]
            n += 1
        return n

    def tx_room(self):
        """Bytes the UART FIFO takes now without the port sleeping."""
        now = time.ticks_us()
        elapsed = time.ticks_diff(now, self._fifo_us)
        if not self._fifo_bytes or elapsed < 0 or elapsed >= _UART_DRAIN_US:
            self._fifo_bytes = 0  # empty (a negative elapsed: ticks wrapped, long ago)
            self._fifo_us = now
        else:
            sent = elapsed * _UART_BYTES_PER_S // 1000000  # < 11112 * 11520 < 2^30: a small int
            if sent:
                self._fifo_bytes = max(0, self._fifo_bytes - sent)
                self._fifo_us = now
        return _UART_FIFO - self._fifo_bytes

    def serial_write(self, data):
        """Write what the UART FIFO takes without blocking (at most
        _UART_FIFO bytes); return how many went out. At 20 ms frames that
        is 128 bytes a frame, 6.4 kB/s: the line's 11.5 kB/s is never
        exceeded, so no write sleeps on the FIFO. Log lines waiting for the
        end of a frame go out first.

        A write that takes longer than _SLOW_WRITE_MS means the host holds the
        port open without reading (USB-CDC then blocks for up to 500 ms): the
        following writes return 0 for a hold time that doubles while it lasts.
        """
        if self._log_lines:
            self._flush_log()
        if len(data) > _SERIAL_WRITE_MAX:
            data = memoryview(data)[:_SERIAL_WRITE_MAX]
        written = self._put(data)
        if written:
            self._mid_line = data[written - 1] != _LF
            if self._log_lines and not self._mid_line:
                self._flush_log()
        return written

    def _put(self, data):
        now = time.ticks_ms()
        if self._hold_ms and time.ticks_diff(now, self._hold_from) < self._hold_ms:
            return 0
        room = self.tx_room()
        if room <= 0:
            return 0
        if len(data) > room:
            data = memoryview(data)[:room]
        written = self._out.write(data) or 0
        self._fifo_bytes += written
        end = time.ticks_ms()
        if time.ticks_diff(end, now) > _SLOW_WRITE_MS:
            self._hold_ms = min(2 * self._hold_ms, _HOLD_MAX_MS) if self._hold_ms else _HOLD_MIN_MS
            self._hold_from = end
        else:
            self._hold_ms = 0
        return written

    def _flush_log(self):
        # Between the link's frames only: a line inside a frame would spoil it.
        lines = self._log_lines
        while lines and not self._mid_line and self.tx_room() >= len(lines[0]):
            sent = self._put(lines[0])
            if sent < len(lines[0]):
                self.log_dropped += 1  # a stalled host: the line, or its rest, is gone
                if sent:
                    self._mid_line = True  # its head went out: no more lines now
            lines.pop(0)

    # -- memory
    def idf_heaps(self):
        """ESP-IDF's heaps for `info`, each [free, largest free block,
        lowest free since boot] in bytes: "idf" (all byte-addressable RAM,
        PSRAM included), "internal" (on-chip RAM: I2S DMA buffers, native
        code and, without PSRAM, the Python heap compete for it), "dma"
        (what I2S buffers can use) and "exec" (where native code goes)."""
        import esp32

        out = {}
        for name, caps in (("idf", esp32.HEAP_DATA), ("internal", _CAP_INTERNAL), ("dma", _CAP_DMA),
                           ("exec", esp32.HEAP_EXEC)):
            free = largest = lowest = 0
            for region in esp32.idf_heap_info(caps):
                free += region[1]
                largest = max(largest, region[2])
                lowest += region[3]
            out[name] = [free, largest, lowest]
        return out

    # -- clock, identity, watchdog
    def ticks_ms(self):
        return time.ticks_ms()

    def time(self):
        """Unix seconds from the RTC (whose own epoch is 2000). The app asks
        every frame; Unix seconds exceed 2^30, so each value is a long int
        on the heap, and reading the RTC makes a tuple: the RTC is read once
        a second, at the second's turn by its microseconds, and the same
        int object is returned until the next turn."""
        now = time.ticks_ms()
        if self._second_ms >= 0 and 0 <= time.ticks_diff(now, self._second_ms) < 1000:
            return self._second
        y, mo, d, _wd, h, mi, s, sub_us = self._rtc.datetime()
        self._second = days_from_civil(y, mo, d) * 86400 + (h * 60 + mi) * 60 + s
        self._second_ms = time.ticks_add(now, -(sub_us // 1000))
        return self._second

    def set_time(self, epoch):
        if epoch < _UNIX_2000:
            raise ValueError("time before 2000")
        days = epoch // 86400
        rest = epoch - days * 86400
        y, mo, d = civil_from_days(days)
        weekday = (days + 3) % 7  # Monday is 0; 1970-01-01 was a Thursday
        self._rtc.datetime((y, mo, d, weekday, rest // 3600, rest // 60 % 60, rest % 60, 0))
        self._second_ms = -1  # read the RTC again
        self._rtc.memory(_CLOCK_SET_MARK)

    def clock_is_set(self):
        """True when the clock was set since power-up: the RTC keeps time
        through resets and deep sleep, and so does the mark set_time leaves
        in RTC memory; a power loss clears both (docs/board.md)."""
        return self._rtc.memory() == _CLOCK_SET_MARK and self.time() >= _UNIX_2020

    def device_id(self):
        uid = machine.unique_id()
        return "".join("%02x" % b for b in uid)

    def wdt_feed(self):
        """Feed the watchdog; the first call arms it (wdt_ms from the board file)."""
        if self._wdt is None:
            if not self._wdt_ms:
                return
            self._wdt = machine.WDT(timeout=self._wdt_ms)
        self._wdt.feed()

    def stop(self):
        """Leave the board quiet for the REPL: ring off, I2S freed, watchdog relaxed."""
        if self._wdt is not None:
            self._wdt = machine.WDT(timeout=_WDT_RELAXED_MS)
            self._wdt.feed()
        self.stop_audio()
        _zero_bytes(self._np.buf, self._ring_bytes)
        self._np.write()

    def reboot(self):
        reset()

    def log(self, text):
        """A log line (at most _UART_FIFO bytes), written whole between the
        link's frames; up to _LOG_WAITING lines wait for room, more are
        dropped and counted (log_dropped)."""
        if len(self._log_lines) >= _LOG_WAITING:
            self.log_dropped += 1
            return
        self._log_lines.append((text[:_UART_FIFO - 2] + "\r\n").encode())
        self._flush_log()


@micropython.viper
def _copy_bytes(dst, src, n: int):
    d = ptr8(dst)
    s = ptr8(src)
    i: int = 0
    while i < n:
        d[i] = s[i]
        i += 1


@micropython.viper
def _zero_bytes(dst, n: int):
    d = ptr8(dst)
    i: int = 0
    while i < n:
        d[i] = 0
        i += 1


def make():
    """The board described by /board.json, quiet ESP-IDF logging."""
    import esp

    esp.osdebug(0, esp.LOG_NONE)
    if hasattr(micropython, "alloc_emergency_exception_buf"):  # absent on the unix port
        micropython.alloc_emergency_exception_buf(100)
    desc = config.load_board(_BOARD_FILE)
    running = running_chip()
    if desc["chip"] != running:
        raise config.ConfigError("chip", "board file is for the %s, this is an %s" % (desc["chip"], running))
    return Esp32Board(desc)


def reset():
    machine.reset()


def running_chip():
    """"esp32s3" or "esp32", from MicroPython's machine name
    (e.g. "Generic ESP32S3 module with ESP32S3")."""
    return "esp32s3" if "ESP32S3" in sys.implementation._machine.upper() else "esp32"
