# `binascii` on the webassembly port: its built-in C module, as on the ESP32.
# The port otherwise replaces b2a_base64 with a Python version that allocates
# about 100 KB to encode a 192-byte chunk.
from ubinascii import *  # noqa: F403
