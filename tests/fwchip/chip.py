# A simulated board as hard as the chip, for firmware tests under
# MicroPython. The firmware's own ESP32 board module (tbfw.board_esp32)
# runs on it with the stand-ins in tests/fwstubs (machine, neopixel, esp)
# and, from this directory, a virtual clock (time.py) and an os module that
# reports flash changes (os.py). What it models, and where the figures come
# from:
#
#   serial  the UART REPL's TX path (MicroPython's esp32 port,
#           uart_stdout_tx_strn): each write puts what fits into the
#           128-byte FIFO; while bytes remain it sleeps one 10 ms FreeRTOS
#           tick and tries again. The line sends 11,520 bytes/s (115200
#           baud, 10 bits a byte). On the ESP32-S3 the generic build keeps
#           this REPL beside USB-CDC, so every byte takes this path too.
#   flash   a littlefs change (a file written and closed, a rename, remove,
#           mkdir) erases a 4 KB sector: 45 ms (typical 4 KB sector erase of
#           the modules' SPI NOR flash), one more per full 4 KB written. The
#           CPU and the I2S interrupt wait; afterwards the I2S driver posts
#           only the latest DMA buffer (machine.I2S.sim_irq_on). The model
#           charges an erase per change, littlefs's worst case.
#   I2S     ESP-IDF's queue of desc_num - 1 buffers (tests/fwstubs/machine.py).
#   CPU     the frame's computation: COMPUTE_US per frame, charged when the
#           loop feeds the watchdog, once a frame. 9.7 ms is the upper bound
#           docs/benchmarks.md gives for one 240 MHz core (48.5% of 20 ms).
#   pins    the chip's rules, from tbfw.boardfile (the board file is checked
#           for the chip) and the machine stand-in (SIM["chip"]).
#
# Use: put this directory first on sys.path before anything imports time or
# os (chip.check() says whether the stand-ins are the ones in use), then
# Chip(flash_dir).board(desc) gives the board; install() hooks the flash.
import builtins
import io
import os
import time

import machine
import neopixel
from tbfw import board_esp32

UART_FIFO = 128
UART_BYTES_PER_S = 11520
TICK_US = 10000
ERASE_US = 45000
SECTOR = 4096
COMPUTE_US = 9700


def check():
    """The virtual clock and the flash hooks are the ones imported."""
    if not getattr(time, "CHIP", False) or not hasattr(os, "FLASH_HOOK"):
        raise RuntimeError("chip.py needs tests/fwchip first on sys.path before time and os are imported")


class Uart:
    """The REPL UART's TX path, as the board's stdout. `out` collects what
    reached the line (what the host reads)."""

    def __init__(self):
        self.out = bytearray()
        self._level = 0  # bytes in the FIFO at _at_us
        self._at_us = time.NOW_US[0]
        self.writes = 0
        self.bytes = 0
        self.ticks_slept = 0
        self.worst_write_us = 0

    def _drain(self):
        now = time.NOW_US[0]
        sent = (now - self._at_us) * UART_BYTES_PER_S // 1000000
        if sent:
            self._level = max(0, self._level - sent)
            self._at_us = now
        if not self._level:
            self._at_us = now

    def write(self, data):
        t0 = time.NOW_US[0]
        pos = 0
        while True:
            self._drain()
            take = min(UART_FIFO - self._level, len(data) - pos)
            self._level += take
            self.out += data[pos:pos + take]
            pos += take
            if pos >= len(data):
                break
            time.advance(TICK_US)  # ulTaskNotifyTake(pdFALSE, 1)
            self.ticks_slept += 1
        self.writes += 1
        self.bytes += len(data)
        self.worst_write_us = max(self.worst_write_us, time.NOW_US[0] - t0)
        return len(data)

    def take(self):
        """What the host has received since the last call."""
        data = bytes(self.out)
        self.out = bytearray()
        return data


class HostIn(io.IOBase):
    """The serial input: bytes the host sent, pollable like sys.stdin."""

    def __init__(self):
        self.data = bytearray()

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL
            return arg & 1 if self.data else 0
        return -1 if req == 10 else 0

    def readinto(self, buf):
        n = min(len(buf), len(self.data))
        buf[:n] = self.data[:n]
        self.data = self.data[n:]
        return n


class Flash:
    """Stalls the chip for each flash change (see the header)."""

    def __init__(self):
        self.changes = 0
        self.stalled_us = 0
        self.log = []  # (virtual us, kind, bytes)

    def change(self, kind, nbytes):
        stall = ERASE_US * (1 + nbytes // SECTOR)
        buses = list(machine.SIM["i2s"].values())
        for i2s in buses:
            if not i2s.closed:
                i2s.sim_irq_off()
        time.advance(stall)
        for i2s in buses:
            if not i2s.closed:
                i2s.sim_irq_on()
        self.changes += 1
        self.stalled_us += stall
        self.log.append((time.NOW_US[0], kind, nbytes))


class _WriteFile:
    def __init__(self, f, flash, path):
        self._f = f
        self._flash = flash
        self._path = path
        self._bytes = 0

    def write(self, data):
        n = self._f.write(data)
        self._bytes += len(data) if n is None else n
        return n

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None
            self._flash.change("write " + self._path, self._bytes)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_REAL_OPEN = builtins.open


class Chip:
    def __init__(self, flash_dir, chip="esp32s3", compute_us=COMPUTE_US):
        check()
        self.flash_dir = flash_dir
        self.uart = Uart()
        self.host_in = HostIn()
        self.flash = Flash()
        self.compute_us = compute_us
        machine.SIM["chip"] = chip
        machine.SIM["i2s"] = {}
        machine.SIM["record_reads"] = False  # minutes of frames: no list of every read
        neopixel.SIM["record_writes"] = False

    def install(self):
        """Route the firmware's flash writes through the model."""
        flash = self.flash

        def chip_open(path, mode="r", *args):
            f = _REAL_OPEN(path, mode, *args)
            if "w" in mode or "a" in mode or "+" in mode:
                return _WriteFile(f, flash, path)
            return f

        builtins.open = chip_open
        os.FLASH_HOOK[0] = flash.change

    def uninstall(self):
        builtins.open = _REAL_OPEN
        os.FLASH_HOOK[0] = None

    def board(self, desc):
        return ChipBoard(desc, self)


class ChipBoard(board_esp32.Esp32Board):
    """The ESP32 board module itself, on the chip model: its flash in a
    scratch directory, the frame's computation charged at the watchdog feed."""

    def __init__(self, desc, chip):
        super().__init__(desc, stdin=chip.host_in, stdout=chip.uart)
        self.flash_dir = chip.flash_dir + "/data"
        self.config_path = chip.flash_dir + "/config.json"
        self._compute_us = chip.compute_us

    def wdt_feed(self):
        time.advance(self._compute_us)
        super().wdt_feed()


def now_us():
    return time.NOW_US[0]
