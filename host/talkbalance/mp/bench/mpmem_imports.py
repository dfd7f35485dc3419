# The import cost of each module the simulated device imports, one step
# each (what each holds in a session is mp_memory.py's to give). Run by
# talkbalance.bench.heap32 on the firmware and on a copy whose viper and
# native function bodies are stubs, to weigh what the ESP32 keeps out of
# its heap.
#   mpmem_imports [NAMES ...]
# NAMES: a file of names (one per line, hex of the UTF-8), interned first, in
# turn, each followed by the names table's size (micropython.qstr_info), so
# that no import adds to the table: two runs whose modules intern the same
# names then differ by their code alone.
# Readings (`@@BENCH memory ...`):
#   port_<name>_bytes     each stand-in for a module built into the ESP32, held
#                         after the collector has run
#   runtime_alloc_bytes   viper32rt, which runs viper functions as bytecode,
#                         weighed with the collector off (everything its import
#                         allocated and did not free itself: a figure no stale
#                         word elsewhere in the heap can move, as the collector
#                         keeps any block a word happens to point at)
#   <name>_alloc_bytes    each device module, the same
import gc
import sys

import micropython
from mpmem_modules import DEVICE_IMPORTS, PORT_IMPORTS


def _intern(path):
    with open(path) as f:
        for line in f:
            getattr(None, str(bytes.fromhex(line.strip()), "utf-8"), None)  # getattr interns its name


def _alloc(module):
    """Import `module` with the collector off: what it allocated and did not free."""
    before = gc.mem_alloc()
    gc.disable()
    __import__(module)
    used = gc.mem_alloc() - before
    gc.enable()
    return used


def _steps():
    yield
    print("@@BENCH memory base_heap_bytes %d bytes" % gc.mem_alloc())
    for path in sys.argv[1:]:
        _intern(path)
        yield
        micropython.qstr_info()  # the names table's size, for the host to read
    before = gc.mem_alloc()
    for name in PORT_IMPORTS:
        __import__(name)
        yield
        now = gc.mem_alloc()
        print("@@BENCH memory port_%s_bytes %d bytes" % (name, now - before))
        before = now
    print("@@BENCH memory runtime_alloc_bytes %d bytes" % _alloc("viper32rt"))
    yield
    for name in DEVICE_IMPORTS:
        print("@@BENCH memory %s_alloc_bytes %d bytes" % (name, _alloc("tbfw." + name)))
        yield


_it = _steps()


def step():
    try:
        next(_it)
    except StopIteration:
        return False
    gc.collect()
    return True
