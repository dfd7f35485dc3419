# The chip-like board's clock (see chip.py): MicroPython's time module with
# a virtual microsecond clock that only moves when the chip would spend
# time: a sleep, a serial write waiting on the UART, a flash erase, and the
# frame's computation charged by the board (chip.ChipBoard.wdt_feed). Runs
# are deterministic and faster than real time. ticks_* wrap at 2^30 as on
# the ESP32 port. Found before the built-in module when this directory
# leads sys.path (MicroPython looks for an extensible module's file first).
from utime import *  # noqa: F403 (everything not overridden below)

_PERIOD = 1 << 30
_MASK = _PERIOD - 1
_EPOCH = 1767225600  # time(): 2026-01-01 at clock zero

NOW_US = [0]  # the virtual clock: microseconds since the run began
CHIP = True   # marks this module as the stand-in (chip.py checks it)


def advance(us):
    if us > 0:
        NOW_US[0] += us


def ticks_us():
    return NOW_US[0] & _MASK


def ticks_cpu():
    return NOW_US[0] & _MASK


def ticks_ms():
    return (NOW_US[0] // 1000) & _MASK


def ticks_diff(end, start):
    d = (end - start) & _MASK
    return d - _PERIOD if d >= _PERIOD >> 1 else d


def ticks_add(ticks, delta):
    return (ticks + delta) & _MASK


def sleep_us(us):
    advance(us)


def sleep_ms(ms):
    advance(ms * 1000)


def sleep(s):
    advance(int(s * 1000000))


def time():
    return _EPOCH + NOW_US[0] // 1000000
