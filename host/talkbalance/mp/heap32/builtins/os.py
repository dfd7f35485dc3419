# `os` on the webassembly port: its built-in module (`uos`, as the ESP32 has
# it; the port otherwise extends it in Python) plus os.urandom, which the
# port lacks: deterministic here. The simulated board uses urandom for its
# quiet-room noise and its device id; neither needs real entropy.
from uos import *  # noqa: F403

_state = 12345


def urandom(n):
    # The ZX81 generator, x -> (75 x + 74) mod 65537: small ints only, so it
    # allocates nothing but the result on a 32-bit port.
    global _state
    out = bytearray(n)
    x = _state
    for i in range(n):
        x = (75 * x + 74) % 65537
        out[i] = x & 0xFF
    _state = x
    return bytes(out)
