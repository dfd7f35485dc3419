# MicroPython benchmark: the firmware's import cost and resting heap.
#   micropython mp_startup.py FIRMWARE_DIR BOARD_FILE
import gc
import sys
import time

sys.path.insert(0, sys.argv[1])
gc.collect()
base = gc.mem_alloc()
t0 = time.ticks_us()
from tbfw import app, config  # noqa: F401 (the import cost is what is measured)

desc = config.load_board(sys.argv[2])
elapsed_ms = time.ticks_diff(time.ticks_us(), t0) / 1000
gc.collect()
print("@@BENCH startup import_and_board_ms %.3f ms" % elapsed_ms)
print("@@BENCH startup resting_heap_bytes %d bytes" % (gc.mem_alloc() - base))
