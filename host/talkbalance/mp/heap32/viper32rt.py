# The firmware's viper functions as MicroPython bytecode, with the ESP32's
# 32-bit semantics, for a MicroPython build that has no native emitter (the
# webassembly port; see talkbalance.bench.heap32). talkbalance.viper32.bytecode_source
# rewrites each viper function to call these:
#
#   ptr8/ptr16/ptr32(buffer or address)  a pointer: a uctypes array at that
#       address. ptr8/ptr16 loads are zero-extended, as in viper; ptr32
#       loads are signed, as a 32-bit register holds them on the ESP32.
#       Stores keep the low 8/16/32 bits. No bounds checks, as in viper.
#   _op(fn, v)   an integer result wrapped to a signed 32-bit value
#   _cast(v)     int(): an integer wrapped, or a pointer's address
#
# A cast allocates one small object and a result beyond 30 bits a long
# integer: a measurement on this port counts them (docs/memory.md).
import uctypes

_N = 0x100000  # elements a pointer may reach: no memory, only a bound
_L8 = (uctypes.ARRAY | 0, uctypes.UINT8 | _N)
_L16 = (uctypes.ARRAY | 0, uctypes.UINT16 | _N)
_L32 = (uctypes.ARRAY | 0, uctypes.INT32 | _N)


def _addr(target):
    return target if isinstance(target, int) else uctypes.addressof(target)


def ptr8(target):
    return uctypes.struct(_addr(target), _L8)


def ptr16(target):
    return uctypes.struct(_addr(target), _L16)


def ptr32(target):
    return uctypes.struct(_addr(target), _L32)


def _op(fn, v):
    if -0x40000000 <= v <= 0x3FFFFFFF:  # a small int: in range, no allocation
        return v
    return ((v + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def _cast(v):
    if isinstance(v, int):
        return _op(0, v)
    return uctypes.addressof(v)
