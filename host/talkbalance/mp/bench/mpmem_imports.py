# The import cost of each module the simulated device imports, one step
# each (the collector runs between steps): `@@BENCH memory import_<name>_bytes`.
# Run by talkbalance.bench.heap32 on the firmware and on a copy whose viper and
# native function bodies are stubs, to weigh the code the ESP32 keeps out
# of its heap.
import gc

# The port's own modules first: on the ESP32 they are built in (no heap);
# on the webassembly port, talkbalance.bench.heap32 installs small stand-ins.
_PORT = ("os", "io", "time", "binascii")
# (mp_memory.py imports the same list, plus tbfw.wav when a recording plays)
DEVICE_IMPORTS = ("version", "config", "wire", "store", "link", "button", "talker", "tally", "session", "dsp",
            "frontend", "pipeline", "ring", "app", "board_sim")


def _steps():
    yield
    before = gc.mem_alloc()
    print("@@BENCH memory base_heap_bytes %d bytes" % before)
    for name in _PORT:
        __import__(name)
        yield
        now = gc.mem_alloc()
        print("@@BENCH memory port_%s_bytes %d bytes" % (name, now - before))
        before = now
    for name in DEVICE_IMPORTS:
        __import__("tbfw." + name)
        yield
        now = gc.mem_alloc()
        print("@@BENCH memory import_%s_bytes %d bytes" % (name, now - before))
        before = now


_it = _steps()


def step():
    try:
        next(_it)
    except StopIteration:
        return False
    gc.collect()
    return True
