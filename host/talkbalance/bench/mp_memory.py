# MicroPython benchmark: the firmware's heap budget (docs/memory.md).
#   micropython [-X heapsize=N] mp_memory.py LIB_DIR BOARD_FILE [WAV] [seconds]
#
# LIB_DIR holds the tbfw package: the firmware folder (source, as `talkbalance
# bench` runs it) or, for the deployed figure, a folder of .mpy files made by
# talkbalance.sim.install_firmware(..., compiled=True) (its lib/ folder).
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

import micropython
from micropython import const

sys.path.insert(0, sys.argv[1])
_BOARD = sys.argv[2]
_WAV = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
_SECONDS = int(sys.argv[4]) if len(sys.argv) > 4 else 40

_TARGET = const(112000)  # the plain ESP32's heap after growth, about 112 KB
_TURN_S = const(3)  # built-in signal: seconds per talker turn
_HIST = const(8)  # source samples kept for the delays
_INFO_EVERY = const(50)  # frames between info requests (1 s)
_AMP = const(3000)  # built-in signal: burst amplitude (about -25 dBFS)
_QUIET_AMP = const(8)  # between bursts: a few LSB of room noise
# (delay in samples per channel X+, X-, Y+, Y-) for the two talkers: arrival
# at X- minus X+ and at Y- minus Y+ give azimuth 0 and about 135 degrees.
_DELAYS = ((0, 4, 0, 0), (3, 0, 0, 3))


@micropython.viper
def _noise(src, n: int, seed: int, amp: int) -> int:
    # src: array('h') of _HIST + n samples; the last _HIST are kept as the
    # history, n new samples of uniform noise +-amp follow. Returns the seed.
    # Bounds: xorshift on 32 bits (masked; 64-bit words on the unix port);
    # ((x & 0xFFFF) - 32768) * amp <= 32768 * 3000 < 2^27.
    p = ptr16(src)
    i = 0
    while i < _HIST:
        p[i] = p[n + i]
        i += 1
    x = seed
    i = 0
    while i < n:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        p[_HIST + i] = ((((x & 0xFFFF) - 32768) * amp) >> 15) & 0xFFFF
        i += 1
    return x


@micropython.viper
def _interleave(pcm, src, n: int, chans: int, d0: int, d1: int, d2: int, d3: int):
    # pcm: n * chans int16, interleaved; channel c gets src delayed by d_c
    # samples (0.._HIST). No arithmetic: int16 bit patterns are copied.
    p = ptr16(pcm)
    s = ptr16(src)
    i = 0
    while i < n:
        k = i * chans
        p[k] = s[_HIST + i - d0]
        p[k + 1] = s[_HIST + i - d1]
        if chans == 4:
            p[k + 2] = s[_HIST + i - d2]
            p[k + 3] = s[_HIST + i - d3]
        i += 1


def _alloc():
    gc.collect()
    return gc.mem_alloc()


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


# Everything the bench itself needs is allocated before the base reading.
_src = None
_req = bytearray(0)
_flash = _scratch()
_base = _alloc()

# What the simulated device imports, in dependency order (tbfw.wav only
# when it plays a recording).
_IMPORTS = ("version", "config", "wire", "store", "link", "button", "talker", "tally", "session", "dsp",
            "frontend", "pipeline", "ring", "app", "board_sim") + (("wav",) if _WAV else ())
_per_module = []
_before = _base
for _name in _IMPORTS:
    __import__("tbfw." + _name)
    _now = _alloc()
    _per_module.append((_name, _now - _before))
    _before = _now
_imported = _before - _base

from tbfw import app, board_sim, wire  # noqa: E402 (already imported above: measured)


class BenchBoard(board_sim.SimBoard):
    """The simulated board with the serial link scripted and the audio
    built in (or from the WAV)."""

    def __init__(self, flash):
        board_sim.SimBoard.__init__(self, _BOARD, audio_path=_WAV, flash_dir=flash)
        self.rx = bytearray(0)
        self.tx = bytearray(0)
        self.rx_pos = 0
        self.capture = False  # keep what the device sends (the sync), else drop it
        self.synth_frames = 0
        self.seed = 2463534242
        self.limit_frames = 0

    def read_frame(self):
        if self._wav is not None:
            if self.frames >= self.limit_frames:
                return False
            return board_sim.SimBoard.read_frame(self)
        if self.synth_frames >= self.limit_frames:
            return False
        pcm = self._pcm
        n = self.frame_samples
        frames_per_turn = _TURN_S * 1000 // self.frame_ms
        turn = self.synth_frames // frames_per_turn
        pos = self.synth_frames % frames_per_turn
        # speech in each turn: 2.2 s on, 0.8 s pause; silence for the first second
        on = self.synth_frames >= 1000 // self.frame_ms and pos < frames_per_turn * 11 // 15
        self.seed = _noise(_src, n, self.seed, _AMP if on else _QUIET_AMP)
        d = _DELAYS[turn & 1]
        _interleave(pcm, _src, n, self.desc["channels"], d[0], d[1], d[2], d[3])
        self.synth_frames += 1
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
            self.tx.extend(data)
        return len(data)

    def send(self, ident, name, args=None):
        self.rx.extend(wire.request(ident, name, args))

    def answers(self):
        dec = wire.Decoder()
        out = dec.feed(self.tx)
        self.tx = bytearray(0)
        return out

    def log(self, text):
        pass


class Peak:
    def __init__(self):
        self.live = 0
        self.heap = 0

    def step(self, fn):
        gc.collect()  # the frame starts on a collected heap
        result = fn()
        used = gc.mem_alloc()
        if used > self.heap:
            self.heap = used
        live = _alloc()
        if live > self.live:
            self.live = live
        return result


def main():
    global _src
    b0 = _alloc()
    board = BenchBoard(_flash)
    board_bytes = _alloc() - b0
    a0 = _alloc()
    dev = app.App(board)
    app_bytes = _alloc() - a0
    steady = _imported + board_bytes + app_bytes
    _src = __import__("array").array("h", [0] * (_HIST + dev.frame_samples))
    src_bytes = _alloc() - (a0 + app_bytes)
    frame_samples = dev.frame_samples

    peak = Peak()
    board.limit_frames = _SECONDS * 1000 // dev.frame_ms
    ident = 0
    while peak.step(dev.step):
        if dev.frames % _INFO_EVERY == 0:
            ident += 1
            board.send(ident, "info")
    dev_state = dev.conv.state
    board.limit_frames += 1000  # room to serve the sync below
    board.capture = True
    script = [("session", {"action": "stop"}), ("list", None)]
    got = {}
    for name, args in script:
        ident += 1
        board.send(ident, name, args)
        for _ in range(50):
            peak.step(dev.step)
        for msg in board.answers():
            if msg.kind == "ok":
                got[msg.name] = msg.body
    records = got.get("list", {}).get("records", [])
    record_bytes = 0
    for rec in records:
        ident += 1
        board.send(ident, "get", {"rec": rec["id"]})
        for _ in range(50):
            peak.step(dev.step)
        for msg in board.answers():
            if msg.kind == "part":
                record_bytes += len(msg.body["data"]) * 3 // 4
        ident += 1
        board.send(ident, "ack", {"recs": [rec["id"]]})
        for _ in range(10):
            peak.step(dev.step)
    live_base = _base + src_bytes  # the bench's signal buffer is not the firmware's
    print("memory: session state at the end of the audio: %d; %d record(s) listed, %d bytes read back"
          % (dev_state, len(records), record_bytes))
    print("memory: %d frames; LIB_DIR %s" % (dev.frames, sys.argv[1]))
    _bench("import_heap_bytes", _imported)
    _bench("board_heap_bytes", board_bytes)
    _bench("app_heap_bytes", app_bytes)
    print("@@BENCH memory steady_heap_bytes %d bytes target <= %d" % (steady, _TARGET))
    _bench("session_peak_live_bytes", peak.live - live_base)
    print("@@BENCH memory session_peak_heap_bytes %d bytes target <= %d" % (peak.heap - live_base, _TARGET))
    print("@@BENCH memory session_records %d count" % len(records))
    for name, value in _per_module:
        _bench("import_%s_bytes" % name, value)
    for name, value in _parts(board, dev, frame_samples):
        _bench("app_%s_bytes" % name, value)


def _parts(board, dev, frame_samples):
    """Heap of each object App builds, made again one at a time (the
    pipeline holds the front end and the conversation: they follow it)."""
    from tbfw import button, config, link, pipeline, ring, store

    cfg = config.load_user(board.config_path)
    desc = board.desc
    makers = (
        ("pipeline", lambda: pipeline.Pipeline(desc, cfg, "bench", 1)),
        ("frontend", lambda: __import__("tbfw.frontend").frontend.FrontEnd(desc, cfg)),
        ("conversation", lambda: __import__("tbfw.session").session.Conversation(cfg, cfg["frame_ms"], "b", 1)),
        ("audio_buffers", lambda: board_sim.SimBoard.start_audio(board, frame_samples)),
        ("ring", lambda: ring.from_board(desc)),
        ("ring_state", lambda: ring.RingState()),
        ("ring_driver", lambda: ring.RingDriver(dev.ring, board.ring_write, 40)),
        ("store", lambda: store.Store(_flash + "/data/sessions", 200, 50)),
        ("link", lambda: link.Link(board.serial_read, board.serial_write, dev)),
        ("button", lambda: button.Button()),
    )
    out = []
    kept = []  # all kept alive until the end: a freed one would blur the next reading
    for name, make in makers:
        before = _alloc()
        kept.append(make())
        out.append((name, _alloc() - before))
    return out


try:
    main()
finally:
    _rmtree(_flash)
