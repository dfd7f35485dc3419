# Recording stand-in for MicroPython's `neopixel` module (firmware tests on
# the unix port). Enforces NeoPixel(pin, n, bpp=3, timing=1): a machine.Pin,
# a positive LED count, 3 or 4 bytes per pixel, timing 0 (400 kHz), 1
# (800 kHz) or a 4-tuple of nanoseconds. write() records the bytes sent.
import time

import machine

SIM = {"strips": [], "record_writes": True}  # False: keep the latest write only (long runs)


class NeoPixel:
    ORDER = (1, 0, 2, 3)

    def __init__(self, pin, n, bpp=3, timing=1):
        if not isinstance(pin, machine.Pin):
            raise TypeError("pin must be a machine.Pin")
        if not isinstance(n, int) or n < 1:
            raise ValueError("n must be a positive LED count")
        if bpp not in (3, 4):
            raise ValueError("bpp must be 3 or 4")
        if not (timing in (0, 1) or (isinstance(timing, tuple) and len(timing) == 4)):
            raise ValueError("timing must be 0, 1 or a 4-tuple")
        pin.init(machine.Pin.OUT)
        self.pin = pin
        self.n = n
        self.bpp = bpp
        self.timing = timing
        self.buf = bytearray(n * bpp)
        self.writes = []        # bytes of every write(), in order
        self.write_ms = []      # time.ticks_ms() of each write
        SIM["strips"].append(self)

    def __len__(self):
        return self.n

    def __setitem__(self, i, v):
        offset = i * self.bpp
        for k in range(self.bpp):
            self.buf[offset + self.ORDER[k]] = v[k]

    def __getitem__(self, i):
        offset = i * self.bpp
        return tuple(self.buf[offset + self.ORDER[k]] for k in range(self.bpp))

    def fill(self, v):
        for i in range(self.n):
            self[i] = v

    def write(self):
        if not SIM["record_writes"]:
            del self.writes[:]
            del self.write_ms[:]
        self.writes.append(bytes(self.buf))
        self.write_ms.append(time.ticks_ms())
