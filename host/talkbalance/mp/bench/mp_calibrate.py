# MicroPython benchmark: how fast this port runs two fixed workloads, so that
# the cost figures can be scaled to an ESP32 core by a measured factor.
#   micropython mp_calibrate.py FIRMWARE_DIR BOARD_FILE
#
# 1. Pystone (the Dhrystone 1.1 workload as Python: records, strings, arrays,
#    calls; written out below). Its score, loops per second after the empty
#    loop's time is taken off, is the figure published for MicroPython on the
#    ESP32 (docs/benchmarks.md cites them), so port / ESP32 is the scaling
#    factor for bytecode.
# 2. A viper kernel: the dot product of two int16 buffers (the correlator's
#    inner loop) as viper and as the same loop in bytecode. Their ratio here,
#    against the ratio published for the ESP32-S3, corrects the factor for
#    code that runs as native machine code.
# Times are this process's CPU time (from /proc on Linux: to the nanosecond
# where the scheduler statistics are there, else 10 ms ticks; mpbench), so
# other programs on a shared machine do not inflate them; each run is long
# enough (about a second) for a tick to matter little, and each figure is the
# best of three runs. Without /proc, wall-clock time is used.
# The final state of the Pystone globals is checked, so a broken workload
# cannot report a score.
import array

import micropython
from mpbench import USE_CPU, clock_us, elapsed_us

_RUNS = 3
_LOOPS = 60000
_KERNEL_N = 320
_KERNEL_REPS_VIPER = 200000
_KERNEL_REPS_BYTECODE = 10000


# --- Pystone ------------------------------------------------------------------

IDENT1 = 1
IDENT2 = 2
IDENT3 = 3
IDENT4 = 4
IDENT5 = 5


class Record:
    def __init__(self, ptr_comp=None, discr=0, enum_comp=0, int_comp=0, string_comp=0):
        self.ptr_comp = ptr_comp
        self.discr = discr
        self.enum_comp = enum_comp
        self.int_comp = int_comp
        self.string_comp = string_comp

    def copy(self):
        return Record(self.ptr_comp, self.discr, self.enum_comp, self.int_comp, self.string_comp)


# The benchmark's globals (module globals, as in the published workload: the
# cost of global look-ups is part of what it measures).
int_glob = 0
bool_glob = False
char1_glob = "\0"
char2_glob = "\0"
array1_glob = [0] * 51
array2_glob = [[0] * 51 for _ in range(51)]
ptr_glob = None
ptr_glob_next = None


def pystone(loops):
    """Run `loops` iterations; returns seconds for them (empty loop excluded)."""
    global array1_glob, array2_glob, ptr_glob, ptr_glob_next, bool_glob
    array1_glob = [0] * 51
    array2_glob = [[0] * 51 for _ in range(51)]
    t0 = clock_us()
    for _ in range(loops):
        pass
    null_us = elapsed_us(t0)

    t0 = clock_us()
    ptr_glob_next = Record()
    ptr_glob = Record(ptr_glob_next, IDENT1, IDENT3, 40, "DHRYSTONE PROGRAM, SOME STRING")
    string1 = "DHRYSTONE PROGRAM, 1'ST STRING"
    array2_glob[8][7] = 10
    int1 = int2 = int3 = 0
    for _ in range(loops):
        proc5()
        proc4()
        int1 = 2
        int2 = 3
        string2 = "DHRYSTONE PROGRAM, 2'ND STRING"
        enum = IDENT2
        bool_glob = not func2(string1, string2)
        while int1 < int2:
            int3 = 5 * int1 - int2
            int3 = proc7(int1, int2)
            int1 = int1 + 1
        proc8(array1_glob, array2_glob, int1, int3)
        ptr_glob = proc1(ptr_glob)
        ch = "A"
        while ch <= char2_glob:
            if enum == func1(ch, "C"):
                enum = proc6(IDENT1)
            ch = chr(ord(ch) + 1)
        int3 = int2 * int1
        int2 = int3 // int1
        int2 = 7 * (int3 - int2) - int1
        int1 = proc2(int1)
    us = elapsed_us(t0) - null_us
    return us / 1e6


def proc1(ptr_in):
    nxt = ptr_in.ptr_comp = ptr_glob.copy()
    ptr_in.int_comp = 5
    nxt.int_comp = ptr_in.int_comp
    nxt.ptr_comp = ptr_in.ptr_comp
    nxt.ptr_comp = proc3(nxt.ptr_comp)
    if nxt.discr == IDENT1:
        nxt.int_comp = 6
        nxt.enum_comp = proc6(ptr_in.enum_comp)
        nxt.ptr_comp = ptr_glob.ptr_comp
        nxt.int_comp = proc7(nxt.int_comp, 10)
    else:
        ptr_in = nxt.copy()
    nxt.ptr_comp = None
    return ptr_in


def proc2(int_io):
    loc = int_io + 10
    enum = 0
    while True:
        if char1_glob == "A":
            loc = loc - 1
            int_io = loc - int_glob
            enum = IDENT1
        if enum == IDENT1:
            break
    return int_io


def proc3(ptr_out):
    global int_glob
    if ptr_glob is not None:
        ptr_out = ptr_glob.ptr_comp
    else:
        int_glob = 100
    ptr_glob.int_comp = proc7(10, int_glob)
    return ptr_out


def proc4():
    global char2_glob
    b = char1_glob == "A"
    b = b or bool_glob
    char2_glob = "B"


def proc5():
    global char1_glob, bool_glob
    char1_glob = "A"
    bool_glob = False


def proc6(enum_in):
    enum = enum_in
    if not func3(enum_in):
        enum = IDENT4
    if enum_in == IDENT1:
        enum = IDENT1
    elif enum_in == IDENT2:
        enum = IDENT1 if int_glob > 100 else IDENT4
    elif enum_in == IDENT3:
        enum = IDENT2
    elif enum_in == IDENT5:
        enum = IDENT3
    return enum


def proc7(a, b):
    return b + a + 2


def proc8(array1, array2, int1, int2):
    global int_glob
    loc = int1 + 5
    array1[loc] = int2
    array1[loc + 1] = array1[loc]
    array1[loc + 30] = loc
    for i in range(loc, loc + 2):
        array2[loc][i] = loc
    array2[loc][loc - 1] = array2[loc][loc - 1] + 1
    array2[loc + 20][loc] = array1[loc]
    int_glob = 5


def func1(ch1, ch2):
    if ch1 != ch2:
        return IDENT1
    return IDENT2


def func2(s1, s2):
    loc = 1
    ch = "\0"
    while loc <= 1:
        if func1(s1[loc], s2[loc + 1]) == IDENT1:
            ch = "A"
            loc = loc + 1
    if "W" <= ch <= "Z":
        loc = 7
    if ch == "X":
        return True
    if s1 > s2:
        loc = loc + 7
        return True
    return False


def func3(enum):
    return enum == IDENT3


def pystone_checked(loops):
    """Seconds for `loops` passes; raises if the final state is not Dhrystone's."""
    seconds = pystone(loops)
    p = ptr_glob
    ok = (int_glob == 5 and bool_glob is True and char1_glob == "A" and char2_glob == "B"
          and array1_glob[8] == 7 and array2_glob[8][7] == loops + 10 and p is not None
          and p.discr == IDENT1 and p.enum_comp == IDENT3 and p.int_comp == 17
          and p.string_comp == "DHRYSTONE PROGRAM, SOME STRING")
    if not ok:
        raise ValueError("pystone: wrong final state")
    return seconds


# --- viper kernel ---------------------------------------------------------------


@micropython.viper
def dot_viper(a, b, n: int) -> int:
    # a, b: int16 arrays (ptr16 loads are unsigned: sign-extended below);
    # |sum| <= n * 2^30, kept under 2^31 by the caller's n <= 1.
    pa = ptr16(a)
    pb = ptr16(b)
    acc = 0
    for i in range(n):
        x = int(pa[i])
        y = int(pb[i])
        x = (x ^ 0x8000) - 0x8000
        y = (y ^ 0x8000) - 0x8000
        acc += (x * y) >> 8
    return acc


def dot_python(a, b, n):
    acc = 0
    for i in range(n):
        acc += (a[i] * b[i]) >> 8
    return acc


def _best(fn, a, b, n, reps):
    best = 0
    check = 0
    for _ in range(_RUNS):
        t0 = clock_us()
        for _ in range(reps):
            check = fn(a, b, n)
        us = elapsed_us(t0)
        best = us if best == 0 or us < best else best
    return best, check


def main():
    best = None
    for _ in range(_RUNS):
        s = pystone_checked(_LOOPS)
        best = s if best is None or s < best else best
    print("@@BENCH calibrate pystones_per_s %.0f pystones/s" % (_LOOPS / best))
    a = array.array("h", [((i * 7919) % 1201) - 600 for i in range(_KERNEL_N)])
    b = array.array("h", [((i * 104729) % 997) - 498 for i in range(_KERNEL_N)])
    vip, v1 = _best(dot_viper, a, b, _KERNEL_N, _KERNEL_REPS_VIPER)
    byt, v2 = _best(dot_python, a, b, _KERNEL_N, _KERNEL_REPS_BYTECODE)
    if v1 != v2:
        raise ValueError("viper kernel disagrees with bytecode: %d vs %d" % (v1, v2))
    vip_us = vip / _KERNEL_REPS_VIPER
    byt_us = byt / _KERNEL_REPS_BYTECODE
    print("@@BENCH calibrate kernel_viper_us %.3f us" % vip_us)
    print("@@BENCH calibrate kernel_bytecode_us %.3f us" % byt_us)
    print("@@BENCH calibrate viper_speedup %.2f x" % (byt_us / vip_us))
    print("@@BENCH calibrate cpu_clock %d bool" % (1 if USE_CPU else 0))


main()
