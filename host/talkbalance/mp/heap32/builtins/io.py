# `io` on the webassembly port: its built-in module only, as on the ESP32
# (the port otherwise extends it in Python).
from uio import *  # noqa: F403
