# The built-in test signal of mp_memory.py (a module of its own so that a
# run on a recording does not carry its code in the heap it measures):
# two talkers taking turns, noise bursts with whole-sample delays between
# the microphones from two directions.
import micropython
from micropython import const

_TURN_S = const(3)  # built-in signal: seconds per talker turn
_HIST = const(8)  # source samples kept for the delays
_AMP = const(3000)  # built-in signal: burst amplitude (about -25 dBFS)
_QUIET_AMP = const(8)  # between bursts: a few LSB of room noise
# (delay in samples per channel X+, X-, Y+, Y-) for the two talkers: arrival
# at X- minus X+ and at Y- minus Y+ give azimuth 0 and about 135 degrees.
_DELAYS = ((0, 4, 0, 0), (3, 0, 0, 3))


@micropython.viper
def _noise(src, n: int, state, amp: int):
    # src: array('h') of _HIST + n samples; the last _HIST are kept as the
    # history, n new samples of uniform noise +-amp follow. state: array('I')
    # of one xorshift32 word, read and written back (a seed of 32 bits does
    # not fit a small int on a 32-bit port: returning it would allocate).
    # Bounds: the xorshift runs on uint, masked to 32 bits (a no-op on a
    # 32-bit port; the mask is built from 16-bit halves because 0xFFFFFFFF
    # is no small int there); ((x & 0xFFFF) - 32768) * amp <= 32768 * 3000
    # < 2^27.
    p = ptr16(src)
    st = ptr32(state)
    i = 0
    while i < _HIST:
        p[i] = p[n + i]
        i += 1
    m = (uint(0xFFFF) << 16) | uint(0xFFFF)
    x = uint(st[0]) & m
    i = 0
    while i < n:
        x ^= (x << 13) & m
        x ^= x >> 17
        x ^= (x << 5) & m
        p[_HIST + i] = (((int(x & 0xFFFF) - 32768) * amp) >> 15) & 0xFFFF
        i += 1
    st[0] = x


@micropython.viper
def _interleave(pcm, src, n: int, chans: int, d0: int, d1: int, d2: int, d3: int):
    # pcm: n * chans int16, interleaved; channel c gets src delayed by d_c
    # samples (0.._HIST). No arithmetic: int16 bit patterns are copied.
    p = ptr16(pcm)
    s = ptr16(src)
    i = 0
    while i < n:
        k = i * chans
        p[k] = s[_HIST + i - d0]
        p[k + 1] = s[_HIST + i - d1]
        if chans == 4:
            p[k + 2] = s[_HIST + i - d2]
            p[k + 3] = s[_HIST + i - d3]
        i += 1


class Synth:
    """Fills the board's PCM frame, frame after frame."""

    def __init__(self, frame_samples):
        self.src = __import__("array").array("h", bytes(2 * (_HIST + frame_samples)))
        self.frames = 0
        self.seed = __import__("array").array("I", (2463534242,))

    def fill(self, pcm, n, chans, frame_ms):
        frames_per_turn = _TURN_S * 1000 // frame_ms
        turn = self.frames // frames_per_turn
        pos = self.frames % frames_per_turn
        # speech in each turn: 2.2 s on, 0.8 s pause; silence for the first second
        on = self.frames >= 1000 // frame_ms and pos < frames_per_turn * 11 // 15
        _noise(self.src, n, self.seed, _AMP if on else _QUIET_AMP)
        d = _DELAYS[turn & 1]
        _interleave(pcm, self.src, n, chans, d[0], d[1], d[2], d[3])
        self.frames += 1
