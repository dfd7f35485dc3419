# `time` on the webassembly port: its built-in module only, as on the ESP32
# (the port otherwise extends it in Python, with more in the heap).
from utime import *  # noqa: F403
