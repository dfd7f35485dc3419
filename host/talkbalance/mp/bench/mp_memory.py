# MicroPython benchmark: the firmware's heap budget (docs/memory.md).
#   micropython [-X heapsize=N] mp_memory.py LIB_DIR BOARD_FILE [WAV|-] [seconds] [session]
#
# LIB_DIR holds the tbfw package: the firmware folder (source, as `talkbalance
# bench` runs it) or, for the deployed figure, a folder of .mpy files made by
# talkbalance.devicesim.install_firmware(..., compiled=True) (its lib/ folder).
#
# Measures, in bytes of the GC heap (gc.mem_alloc after gc.collect):
#   import_heap_bytes    tbfw.app and tbfw.board_sim imported (the simulated
#                        device's import set), over the interpreter's own
#   board_heap_bytes     the simulated board built
#   app_heap_bytes       App(board) built (pipeline, ring, store, link ...)
#   steady_heap_bytes    all three: what stays allocated before the first frame
#   session_peak_live_bytes   the largest live heap at a frame boundary
#   session_peak_heap_bytes   the largest heap in use at any point of a frame:
#                        live heap at the frame's start plus everything the
#                        frame allocated (an upper bound; the collector is
#                        run between frames)
#   app_step_heap_all_bytes   the heap in use at the end of the boot's
#                        App(board) step, everything it allocated included
#                        (and, like session_peak_heap_all_bytes, the driver's
#                        own heap: no base subtracted)
# over a whole session: two talkers taking turns (the WAV if given, else a
# built-in signal: noise bursts with whole-sample delays between the
# microphones from two directions), the serial link asked for info once a
# second, then the session stopped, listed, read back in chunks and
# acknowledged, as a host sync does.
#
# Per module (import_<name>_bytes) and per object (app_<part>_bytes) figures
# follow, for the table in docs/memory.md. The unix port on x64 has 8-byte
# words and 32-byte GC blocks (4 and 16 on the ESP32): figures here are an
# upper bound of the ESP32's.
import gc
import os
import sys

from micropython import const
from mpmem_modules import DEVICE_IMPORTS

sys.path.insert(0, sys.argv[1])
_BOARD = sys.argv[2]
_WAV = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
_SECONDS = int(sys.argv[4]) if len(sys.argv) > 4 else 40
_PARTS = len(sys.argv) <= 5 or sys.argv[5] != "session"  # "session": no per-object readings

_TARGET = const(112000)  # the plain ESP32's heap after growth, about 112 KB
_INFO_EVERY = const(50)  # frames between info requests (1 s)
def _scratch():
    path = "/tmp/tbmem-" + "".join("%02x" % b for b in os.urandom(4))
    os.mkdir(path)
    return path


def _rmtree(path):
    for entry in os.ilistdir(path):
        child = path + "/" + entry[0]
        if entry[1] == 0x4000:
            _rmtree(child)
        else:
            os.remove(child)
    os.rmdir(path)


def _bench(name, value):
    print("@@BENCH memory %s %d bytes" % (name, value))


def _heap_total():
    # Heap in all areas: constant unless the port grows its heap on demand
    # (the webassembly port does, where a fixed heap would raise MemoryError).
    return gc.mem_free() + gc.mem_alloc()


# What the simulated device imports, in dependency order (tbfw.wav only
# when it plays a recording).
_IMPORTS = DEVICE_IMPORTS + (("wav",) if _WAV else ())


# The sync's answers are kept in one buffer made before the first reading:
# growing a bytearray frame by frame would put the bench's own garbage into
# the session's peak.
_TX = bytearray(6144)


def _board_class(board_sim, wire):
    class BenchBoard(board_sim.SimBoard):
        """The simulated board with the serial link scripted and the audio
        built in (or from the WAV)."""

        def __init__(self, flash):
            board_sim.SimBoard.__init__(self, _BOARD, audio_path=_WAV, flash_dir=flash)
            self.rx = bytearray(0)
            self.tx = _TX  # what the device sends during the sync; dropped before
            self.tx_len = 0
            self.rx_pos = 0
            self.capture = False
            self.limit_frames = 0
            self.synth = None  # mpmem_synth.Synth when there is no WAV

        def read_frame(self):
            if self.frames >= self.limit_frames:
                return False
            if self.synth is None:
                return board_sim.SimBoard.read_frame(self)
            self.synth.fill(self._pcm, self.frame_samples, self.desc["channels"], self.frame_ms)
            self.frames += 1
            return True

        def serial_read(self, buf):
            n = min(len(buf), len(self.rx) - self.rx_pos)
            buf[:n] = memoryview(self.rx)[self.rx_pos:self.rx_pos + n]
            self.rx_pos += n
            if self.rx_pos == len(self.rx):
                self.rx = bytearray(0)
                self.rx_pos = 0
            return n

        def serial_write(self, data):
            if self.capture:
                end = self.tx_len + len(data)
                if end > len(self.tx):
                    raise MemoryError("bench: sync capture buffer full")
                self.tx[self.tx_len:end] = data
                self.tx_len = end
            return len(data)

        def send(self, ident, name, args=None):
            self.rx.extend(wire.request(ident, name, args))

        def answers(self):
            """The captured frames, parsed one line at a time (a generator:
            the caller gives each its own step, so the driver's parsing
            never needs more than one frame's worth of heap)."""
            tx = self.tx
            n = self.tx_len
            pos = 0
            while pos < n:
                nl = tx.find(b"\n", pos, n)
                end = n if nl < 0 else nl
                msg = wire.parse_line(bytes(tx[pos:end]))
                pos = end + 1
                if msg is not None:
                    yield msg
            self.tx_len = 0

        def log(self, text):
            pass

    return BenchBoard


class Meter:
    """Heap readings at step boundaries. The collector runs between steps
    (the driver below, or the host of a port that can collect only there),
    so a step's first reading is its live heap and its last is that plus
    everything the step allocated.

    It also watches the heap's size: on a port that grows its heap where a
    fixed heap would raise MemoryError (the webassembly port), a change
    means some step needed more than the heap it started with. Boot steps
    (imports, App) and frames are told apart: the port cannot collect inside
    a step, so a boot step's garbage counts against it, where the ESP32
    collects as it goes."""

    def __init__(self):
        self.total = _heap_total()
        self.boot_grew_at = 0  # first boot step after which the heap had grown
        self.grew_at = 0  # first frame step after which it had grown
        self.boot_back = True  # the heap at its starting size when the first frame began
        self.step = 0
        self.frames = 0
        self.live = 0
        self.heap = 0

    def start(self):
        self.step += 1
        self._grown()
        return gc.mem_alloc()

    def _grown(self):
        # Checked at both ends of a step: an area added within a step is
        # given back by the next collection once nothing in it is live.
        if _heap_total() != self.total:
            if self.frames == 0 and not self.boot_grew_at:
                self.boot_grew_at = self.step
            elif self.frames and not self.grew_at:
                self.grew_at = self.step

    def frame_start(self):
        if self.frames == 0:
            self.boot_back = _heap_total() == self.total
        self.frames += 1
        live = self.start()
        if live > self.live:
            self.live = live

    def frame_end(self):
        self._grown()
        used = gc.mem_alloc()
        if used > self.heap:
            self.heap = used


def run(out):
    """The whole measurement as a sequence of steps: `yield` marks where
    the collector runs. Readings go to out (a dict)."""
    meter = Meter()
    flash = _scratch()
    out["flash"] = flash
    yield
    base = meter.start()
    per_module = []
    before = base
    for name in _IMPORTS:
        __import__("tbfw." + name)
        yield
        now = meter.start()
        per_module.append((name, now - before))
        before = now
    imported = before - base
    from tbfw import app, board_sim, wire

    BenchBoard = _board_class(board_sim, wire)
    yield
    b0 = meter.start()
    board = BenchBoard(flash)
    yield
    board_bytes = meter.start() - b0
    dev = app.App(board)
    app_step = gc.mem_alloc()  # what the boot's App(board) step kept and dropped
    yield
    app_bytes = meter.start() - b0 - board_bytes
    steady = imported + board_bytes + app_bytes
    frame_samples = dev.frame_samples
    if _WAV is None:
        board.synth = __import__("mpmem_synth").Synth(frame_samples)
        yield
    bench_bytes = meter.start() - b0 - board_bytes - app_bytes  # the bench's own signal

    board.limit_frames = _SECONDS * 1000 // dev.frame_ms
    ident = 0
    while True:
        meter.frame_start()
        going = dev.step()
        meter.frame_end()
        if not going:
            break
        if dev.frames % _INFO_EVERY == 0:
            ident += 1
            board.send(ident, "info")
        yield
    dev_state = dev.conv.state
    board.limit_frames += 1000  # room to serve the sync below
    board.capture = True
    got = {}

    def frames(count):
        for _ in range(count):
            yield
            meter.frame_start()
            dev.step()
            meter.frame_end()

    for name, args in (("session", {"action": "stop"}), ("list", None)):
        ident += 1
        board.send(ident, name, args)
        yield from frames(50)
        for msg in board.answers():
            yield  # the driver's own parsing, a frame a step
            if msg.kind == "ok":
                got[msg.name] = msg.body
    records = got.get("list", {}).get("records", [])
    record_bytes = 0
    for rec in records:
        ident += 1
        board.send(ident, "get", {"rec": rec["id"]})
        yield from frames(50)
        for msg in board.answers():
            yield
            if msg.kind == "part":
                record_bytes += len(msg.body["data"]) * 3 // 4
                # the record itself, for a host to compare runs (base64)
                print("@@PART %d %s" % (msg.body["off"], msg.body["data"]))
        ident += 1
        board.send(ident, "ack", {"recs": [rec["id"]]})
        yield from frames(10)
    yield
    meter.start()
    live_base = base + bench_bytes
    print("memory: session state at the end of the audio: %d; %d record(s) listed, %d bytes read back"
          % (dev_state, len(records), record_bytes))
    print("memory: %d frames; LIB_DIR %s" % (dev.frames, sys.argv[1]))
    _bench("import_heap_bytes", imported)
    _bench("board_heap_bytes", board_bytes)
    _bench("app_heap_bytes", app_bytes)
    print("@@BENCH memory steady_heap_bytes %d bytes target <= %d" % (steady, _TARGET))
    _bench("session_peak_live_bytes", meter.live - live_base)
    print("@@BENCH memory session_peak_heap_bytes %d bytes target <= %d" % (meter.heap - live_base, _TARGET))
    print("@@BENCH memory session_peak_heap_all_bytes %d bytes" % meter.heap)
    print("@@BENCH memory app_step_heap_all_bytes %d bytes" % app_step)
    print("@@BENCH memory session_records %d count" % len(records))
    print("@@BENCH memory session_record_bytes %d bytes" % record_bytes)
    print("@@BENCH memory heap_total_bytes %d bytes" % meter.total)
    _bench("base_heap_bytes", base)
    print("@@BENCH memory heap_grew_at_step %d count" % meter.grew_at)
    print("@@BENCH memory heap_grew_in_boot_step %d count" % meter.boot_grew_at)
    print("@@BENCH memory heap_back_for_frames %d count" % meter.boot_back)
    for name, value in per_module:
        _bench("import_%s_bytes" % name, value)
    out["parts"] = (board, dev, frame_samples)


def steps():
    """Every step of the bench, then the clean-up."""
    out = {}
    try:
        yield from run(out)
        if "parts" in out and _PARTS:
            yield from __import__("mpmem_parts").parts(*out["parts"], out)
    finally:
        if "flash" in out:
            _rmtree(out["flash"])


_steps = None


def step():
    """One step; False when done. The collector runs after it: here at
    once, on the webassembly port when control returns to its host."""
    global _steps
    if _steps is None:
        _steps = steps()
    try:
        next(_steps)
    except StopIteration:
        return False
    gc.collect()
    return True


if __name__ == "__main__":
    while step():
        pass
