# The modules the simulated device imports, in order, for the memory
# drivers (mp_memory.py, mpmem_imports.py): kept apart so that the session's
# driver holds this list and not the import-weighing code.

# The port's own modules: on the ESP32 they are built in (no heap); on the
# webassembly port, talkbalance.bench.heap32 installs small stand-ins.
PORT_IMPORTS = ("os", "io", "time", "binascii")
# (mp_memory.py imports the same list, plus tbfw.wav when a recording plays)
DEVICE_IMPORTS = ("version", "config", "wire", "store", "link", "button", "talker", "tally", "session", "dsp",
                  "frontend", "pipeline", "ring", "app", "board_sim")
