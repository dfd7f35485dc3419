# Helpers shared by the MicroPython benchmark programs (mp_*.py, which run
# as scripts on the unix port with this folder first on sys.path).
import time


def proc_cpu_us():
    """This process's CPU time in microseconds, or -1 without /proc.

    Linux's scheduler statistics give the time on a CPU to the nanosecond
    (/proc/self/schedstat, first field); without them, user + system time
    from /proc/self/stat, in 10 ms clock ticks (USER_HZ is 100 on Linux).
    """
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[0]) // 1000
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 10000
    except (OSError, ValueError, IndexError):
        return -1


USE_CPU = proc_cpu_us() >= 0


def clock_us():
    """CPU time where /proc gives it, else the wall clock (use elapsed_us for differences)."""
    return proc_cpu_us() if USE_CPU else time.ticks_us()


def elapsed_us(t0):
    return clock_us() - t0 if USE_CPU else time.ticks_diff(time.ticks_us(), t0)


class Noise:
    """xorshift32 noise; next(amp) gives an int roughly uniform in -amp..amp."""

    def __init__(self, seed):
        self.s = seed

    def next(self, amp):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return ((s >> 8) % (2 * amp + 1)) - amp
