# Recording stand-in for MicroPython's `machine` module on the ESP32-S3, for
# firmware tests on the unix port. It enforces the documented API so that a
# wrong call fails here as it would on the board:
#   - I2S(id, *, sck, ws, sd, mode, bits, format, rate, ibuf): keyword-only,
#     id 0 or 1, Pin objects, mode RX, bits 16 or 32, format MONO or STEREO,
#     readinto(buf[, nbytes]) lengths in whole frames of the chosen format;
#     DMA modelled on the esp32 port: max(2, ibuf // 2048) buffers of 256
#     frames, filled in real time (time.ticks_us), handed over through
#     ESP-IDF's queue of desc_num - 1 buffers (the one being filled is not
#     in it), the oldest buffer dropped silently when the queue is full;
#     blocking reads until select.poll switches the object to partial
#     non-blocking reads. sim_irq_off / sim_irq_on model a flash write: the
#     DMA interrupt waits, and afterwards only the latest buffer is posted.
#   - Pin(id, mode, pull): GPIOs that exist on the chip, known modes and pulls.
#   - RTC().datetime(8-tuple), RTC().memory([bytes]), WDT(timeout=ms),
#     unique_id(), reset(). The RTC's time and memory outlive RTC objects (a
#     soft reset) until sim_power_cycle() (a power loss: 2000-01-01, empty).
# Test hooks (not part of MicroPython) start with `sim_` or live in `SIM`.
import io
import struct
import time

# Test-visible state: every object created and every call that matters.
SIM = {
    "chip": "esp32s3",
    "i2s": {},         # id -> I2S object (the latest)
    "pins": {},        # gpio -> Pin object (the latest)
    "levels": {},      # gpio -> level driven from outside (a button)
    "wdt": None,
    "resets": 0,
    "uid": b"\xf4\x12\xfa\x5c\x01\x9e",
    "record_reads": True,  # I2S.reads lists every read (off for long runs)
}

# GPIOs a design may use; 26..32 carry the SPI flash and PSRAM on S3 modules,
# 6..11 the flash on ESP32 modules (which also have input-only 34..39).
_VALID = {
    "esp32s3": tuple(range(0, 22)) + tuple(range(33, 49)),
    "esp32": (0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32, 33, 34,
              35, 36, 37, 38, 39),
}
_INPUT_ONLY = {"esp32s3": (), "esp32": (34, 35, 36, 37, 38, 39)}

_POLL_RD = 1
_STREAM_POLL = 3
_STREAM_GET_FILENO = 10
_DMA_FRAMES = 256
_DMA_BYTES = 2048


class ResetCalled(Exception):
    """machine.reset() was called (the board would reboot here)."""


def unique_id():
    return SIM["uid"]


def reset():
    SIM["resets"] += 1
    raise ResetCalled()


def freq(hz=None):
    if hz is not None:
        if hz not in (80000000, 160000000, 240000000):
            raise ValueError("frequency must be 80MHz, 160MHz or 240MHz")
        SIM["freq"] = hz
        return None
    return SIM.get("freq", 240000000)


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        if not isinstance(id, int) or id not in _VALID[SIM["chip"]]:
            raise ValueError("invalid pin")
        self.id = id
        self.mode = None
        self.pull = None
        self._out = 0
        self.init(mode, pull, value=value)
        SIM["pins"][id] = self

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        if mode not in (-1, Pin.IN, Pin.OUT, Pin.OPEN_DRAIN):
            raise ValueError("invalid pin mode")
        if pull not in (-1, None, Pin.PULL_UP, Pin.PULL_DOWN):
            raise ValueError("invalid pull")
        if mode in (Pin.OUT, Pin.OPEN_DRAIN) and self.id in _INPUT_ONLY[SIM["chip"]]:
            raise ValueError("pin can only be input")
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
        if value is not None:
            self._out = 1 if value else 0

    def value(self, v=None):
        if v is not None:
            self._out = 1 if v else 0
            return None
        if self.mode == Pin.OUT:
            return self._out
        level = SIM["levels"].get(self.id)
        if callable(level):
            level = level(time.ticks_ms())
        if level is not None:
            return level
        return 1 if self.pull == Pin.PULL_UP else 0

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._out = 1

    def off(self):
        self._out = 0

    def irq(self, handler=None, trigger=3):
        raise NotImplementedError("stub: pin interrupts are not modelled")


def sim_drive(gpio, level):
    """Drive an input from outside: 0, 1, a function of ticks_ms returning
    0, 1 or None, or None to release it to its pull."""
    SIM["levels"][gpio] = level


def _default_source(bus, slot, frame):
    # Left: +frame in the top 16 bits; right: -frame (so each word says where
    # it came from and continuity can be checked).
    v = frame & 0x7FFF
    return (v << 16) if slot == 0 else -(v << 16)


class I2S(io.IOBase):
    RX = 1
    TX = 2
    MONO = 0
    STEREO = 1

    def __init__(self, id, *, sck, ws, sd, mode, bits, format, rate, ibuf, mck=None):
        if id not in (0, 1):
            raise ValueError("invalid id")
        for name, pin in (("sck", sck), ("ws", ws), ("sd", sd)):
            if not isinstance(pin, Pin):
                raise TypeError(f"{name} must be a Pin")
        if mode == I2S.TX:
            raise NotImplementedError("stub: transmit is not modelled")
        if mode != I2S.RX:
            raise ValueError("invalid mode")
        if bits not in (16, 32):
            raise ValueError("invalid bits")
        if format not in (I2S.MONO, I2S.STEREO):
            raise ValueError("invalid format")
        if not isinstance(rate, int) or rate <= 0:
            raise ValueError("invalid rate")
        if not isinstance(ibuf, int) or ibuf <= 0:
            raise ValueError("invalid ibuf")
        self.id = id
        self.pins = (sck.id, ws.id, sd.id)
        self.sd_pull = sd.pull
        self.bits = bits
        self.format = format
        self.rate = rate
        self.ibuf = ibuf
        self.dma_buffers = max(2, ibuf // _DMA_BYTES)
        self.frame_bytes = (bits // 8) * (2 if format == I2S.STEREO else 1)
        self.nonblocking = False
        self.closed = False
        self.source = _default_source
        self.stalled = False
        self.dropped_frames = 0   # ground truth: frames discarded (overflow, interrupt held off)
        self.irq_dropped_frames = 0  # of which: while a flash write held the interrupt off
        self.delivered_frames = 0
        self.reads = []           # (bytes requested, bytes returned, blocking)
        self._t0 = time.ticks_us()
        self._elapsed_us = 0
        self._last_us = self._t0
        self._next_buffer = 0     # index of the next DMA buffer to complete
        self._queue = []          # completed buffers: [first frame index, frames read]
        SIM["i2s"][id] = self

    # -- test hooks
    def sim_stall(self, on=True):
        """Stop (or resume) delivering: a bus whose DMA no longer completes."""
        self._update()
        self.stalled = on

    def sim_now_frame(self):
        """Index of the frame the microphones are producing now."""
        self._update()
        return self._elapsed_us * self.rate // 1000000

    def sim_available_frames(self):
        self._update()
        return sum(_DMA_FRAMES - q[1] for q in self._queue)

    def sim_irq_off(self):
        """A flash write starts: the DMA interrupt waits from now on."""
        self._update()  # what completed before the write is posted

    def sim_irq_on(self):
        """The flash write is over: of the buffers completed meanwhile, the
        interrupt posts only the latest (ESP-IDF's i2s_dma_rx_callback reads
        the last finished descriptor); the others are lost."""
        now = time.ticks_us()
        self._elapsed_us += time.ticks_diff(now, self._last_us)
        self._last_us = now
        done = self._elapsed_us * self.rate // 1000000 // _DMA_FRAMES
        missed = done - self._next_buffer
        if missed > 1 and not self.stalled:
            self.dropped_frames += (missed - 1) * _DMA_FRAMES
            self.irq_dropped_frames += (missed - 1) * _DMA_FRAMES
            self._next_buffer = done - 1
        self._update()

    # -- MicroPython API
    def _update(self):
        now = time.ticks_us()
        self._elapsed_us += time.ticks_diff(now, self._last_us)
        self._last_us = now
        done = self._elapsed_us * self.rate // 1000000 // _DMA_FRAMES
        if self.stalled:
            self._next_buffer = done
            return
        while self._next_buffer < done:
            self._queue.append([self._next_buffer * _DMA_FRAMES, 0])
            self._next_buffer += 1
            if len(self._queue) > self.dma_buffers - 1:  # ESP-IDF's queue: desc_num - 1
                head = self._queue.pop(0)
                self.dropped_frames += _DMA_FRAMES - head[1]

    def _frame_into(self, buf, off, index):
        left = self.source(self.id, 0, index)
        right = self.source(self.id, 1, index)
        if self.bits == 32:
            if self.format == I2S.STEREO:
                struct.pack_into("<ii", buf, off, left, right)
            else:
                struct.pack_into("<i", buf, off, left)
        elif self.format == I2S.STEREO:
            struct.pack_into("<hh", buf, off, left >> 16, right >> 16)
        else:
            struct.pack_into("<h", buf, off, left >> 16)

    def readinto(self, buf, nbytes=None):
        if self.closed:
            raise OSError(9)  # EBADF: deinit() was called
        size = len(buf) if nbytes is None else nbytes
        if nbytes is not None and (nbytes < 0 or nbytes > len(buf)):
            raise ValueError("nbytes beyond the buffer")
        if size % self.frame_bytes:
            raise ValueError(f"buffer length {size} is not a whole number of {self.frame_bytes}-byte frames")
        want = size // self.frame_bytes
        got = 0
        while True:
            self._update()
            while got < want and self._queue:
                head = self._queue[0]
                take = min(want - got, _DMA_FRAMES - head[1])
                for k in range(take):
                    self._frame_into(buf, (got + k) * self.frame_bytes, head[0] + head[1] + k)
                head[1] += take
                got += take
                if head[1] == _DMA_FRAMES:
                    self._queue.pop(0)
            if got == want or self.nonblocking:
                break
            time.sleep_ms(1)
        self.delivered_frames += got
        if SIM["record_reads"]:
            self.reads.append((size, got * self.frame_bytes, not self.nonblocking))
        return got * self.frame_bytes

    def ioctl(self, req, arg):
        if req == _STREAM_GET_FILENO:
            return -1
        if req == _STREAM_POLL:
            # As on the esp32 port: polling switches to partial, non-blocking reads.
            self.nonblocking = True
            self._update()
            return arg & _POLL_RD if self._queue else 0
        return 0

    def irq(self, handler):
        raise NotImplementedError("stub: irq (callback) mode is not modelled")

    def deinit(self):
        self.closed = True


_RTC = {"base": (2000, 1, 1, 0, 0, 0), "base_ms": 0, "memory": b""}


def sim_power_cycle():
    """Power lost and back: the RTC restarts at 2000-01-01, its memory empty."""
    _RTC["base"] = (2000, 1, 1, 0, 0, 0)
    _RTC["base_ms"] = time.ticks_ms()
    _RTC["memory"] = b""


sim_power_cycle()


class RTC:
    def __init__(self, id=0):
        SIM["rtc"] = self

    def memory(self, data=None):
        if data is None:
            return _RTC["memory"]
        if len(data) > 2048:
            raise ValueError("buffer too long")
        _RTC["memory"] = bytes(data)
        return None

    def datetime(self, dt=None):
        if dt is None:  # the esp32 port's 8th field: microseconds
            ms = time.ticks_diff(time.ticks_ms(), _RTC["base_ms"])
            return _tuple_2000(_secs_2000(_RTC["base"]) + ms // 1000, ms % 1000 * 1000)
        if not isinstance(dt, tuple) or len(dt) != 8:
            raise TypeError("datetime must be an 8-tuple")
        for v in dt:
            if not isinstance(v, int):
                raise TypeError("datetime fields must be int")
        year, month, day, weekday, hour, minute, second, _sub = dt
        if not (2000 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= _mdays(year, month)
                and 0 <= weekday <= 6 and 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
            raise ValueError("datetime out of range")
        _RTC["base"] = (year, month, day, hour, minute, second)
        _RTC["base_ms"] = time.ticks_ms()
        return None

    def init(self, dt):
        self.datetime(dt)


def _mdays(year, month):
    if month == 2:
        return 29 if year % 4 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _secs_2000(base):
    year, month, day, hour, minute, second = base
    days = 0
    for y in range(2000, year):
        days += 366 if y % 4 == 0 else 365
    for m in range(1, month):
        days += _mdays(year, m)
    days += day - 1
    return ((days * 24 + hour) * 60 + minute) * 60 + second


def _tuple_2000(secs, sub_us=0):
    days, rest = divmod(secs, 86400)
    weekday = (days + 5) % 7  # 2000-01-01 was a Saturday; Monday is 0
    year = 2000
    while days >= (366 if year % 4 == 0 else 365):
        days -= 366 if year % 4 == 0 else 365
        year += 1
    month = 1
    while days >= _mdays(year, month):
        days -= _mdays(year, month)
        month += 1
    return (year, month, days + 1, weekday, rest // 3600, rest // 60 % 60, rest % 60, sub_us)


class WDT:
    def __init__(self, *, id=0, timeout=5000):
        if id != 0:
            raise ValueError("invalid id")
        if not isinstance(timeout, int) or timeout <= 0:
            raise ValueError("WDT timeout too short")
        self.timeout = timeout
        self.feeds = 0
        self.expired = False
        self._last = time.ticks_ms()
        old = SIM["wdt"]
        if old is not None:
            self.feeds = old.feeds
        SIM["wdt"] = self

    def feed(self):
        now = time.ticks_ms()
        if time.ticks_diff(now, self._last) > self.timeout:
            self.expired = True
        self._last = now
        self.feeds += 1
