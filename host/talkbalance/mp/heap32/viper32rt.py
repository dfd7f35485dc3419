# The firmware's viper functions as MicroPython bytecode, with the ESP32's
# 32-bit semantics, for a MicroPython build that has no native emitter (the
# webassembly port; see talkbalance.bench.heap32). talkbalance.viper32.bytecode_source
# rewrites each viper function to call these:
#
#   _addr(buffer or address)  a pointer, which is its address (an int): a
#       viper cast ptr8/ptr16/ptr32(x) and a parameter annotated with one
#   _M8, _M16, _M32  the whole memory as uctypes arrays of UINT8, UINT16
#       and INT32: p[i] of a ptr16 p becomes _M16[(p >> 1) + i]. ptr8/ptr16
#       loads are zero-extended, as in viper; ptr32 loads are signed, as a
#       32-bit register holds them on the ESP32. Stores keep the low
#       8/16/32 bits. No bounds checks, as in viper.
#   _op(fn, v)   an integer result wrapped to a signed 32-bit value
#   _cast(v)     int(): an integer wrapped
#
# A pointer allocates nothing (a loop may move one every step); a result
# beyond 30 bits allocates a long integer: a measurement on this port counts
# them (docs/memory.md).
import uctypes

_N = 0x7FFFFFF  # elements the arrays span (uctypes keeps the type above bit 26)
_M8 = uctypes.struct(0, (uctypes.ARRAY | 0, uctypes.UINT8 | _N))
_M16 = uctypes.struct(0, (uctypes.ARRAY | 0, uctypes.UINT16 | _N))
_M32 = uctypes.struct(0, (uctypes.ARRAY | 0, uctypes.INT32 | _N))


def _addr(target):
    return target if isinstance(target, int) else uctypes.addressof(target)


def _op(fn, v):
    if -0x40000000 <= v <= 0x3FFFFFFF:  # a small int: in range, no allocation
        return v
    return ((v + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def _cast(v):
    return _op(0, v)
