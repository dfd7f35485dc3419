# MicroPython benchmark: the audio front end's cost per second of audio.
#   micropython mp_frontend.py FIRMWARE_DIR BOARD_FILE
#
# Input: the board's channels at its rate (4 x 16 kHz by default) as the I2S
# buses deliver them (int32 stereo words), 20 ms frames: a talker heard from
# one direction (integer delays between the microphones of each pair) in
# speech-like bursts (low-passed noise with a ripple) of 200 ms every 400 ms
# over quiet microphone noise, so about half the frames are speech, as in a
# conversation. 50 distinct frames, played over and over.
# Reported: CPU ms per audio second, from the median time of each kind of
# frame (ingest; process of correlated frames; of the others) over 15 runs of
# 10 audio seconds, weighted by the share of correlated frames: medians,
# because the machine is shared and preemptions hit single frames; the worst
# case where every frame is correlated (ingest plus 50 correlated frames); the front end's heap and its growth
# over 1,000 frames; and an ESP32 estimate: the unix port taken as 50 times
# one 240 MHz ESP32 core (ESP32-NOTES.md, perf_bench), so 2.5 ms here is
# 125 ms of a core per audio second, an eighth of it.
import array
import gc
import sys
import time

sys.path.insert(0, sys.argv[1])
from mpbench import Noise  # noqa: E402
from tbfw import config, frontend, talker

_DISTINCT = 50
_SECONDS = 10
_RUNS = 15
_PORT_OVER_ESP32 = 50
_TARGET_MS = 2.5


def _signal(total):
    """Source samples: low-passed noise, about +-12000 peak."""
    g = Noise(12345)
    lp = 0
    out = array.array("h", bytearray(2 * total))
    for i in range(total):
        lp += (g.next(12000) - lp) >> 2  # one-pole low-pass: speech-like tilt
        out[i] = lp
    return out


def _frames(fe, desc):
    n = fe.frame_samples
    buses = len(desc["i2s"])
    delays = {}
    shifts = (3, -2)
    for p in range(fe.pairs):
        plus, minus = fe._pair_ch[p]
        delays[plus] = 0
        delays[minus] = shifts[p]
    src = _signal(_DISTINCT * n + 16)
    mic = Noise(777)
    frames = []
    for f in range(_DISTINCT):
        speech = (f // 10) % 2 == 1  # 200 ms on, 200 ms off
        bufs = []
        for bus in range(buses):
            words = array.array("i", bytearray(8 * n))
            for slot in range(2):
                ch = desc["i2s"][bus]["channels"][slot]
                d = delays[ch]
                for i in range(n):
                    t = f * n + i + 8 - d
                    env = 1 + ((i * 7) % 97) // 12  # a syllable-like ripple
                    v = (src[t] * env) >> 3 if speech else 0
                    v += mic.next(40)
                    words[2 * i + slot] = (v << 8) + (mic.next(100) & 0xFF)
            bufs.append(bytes(words))
        frames.append(bufs)
    return frames


def _run(fe, frames, seconds, t_in=None, t_corr=None, t_rest=None):
    """Feed `seconds` of audio; with the arrays given, record each frame's
    ingest time and its process time (correlated frames and the others
    apart), in microseconds. Returns the counts (correlated, other)."""
    count = seconds * 1000 // fe.frame_ms
    buses = len(frames[0])
    nc = 0
    nr = 0
    for k in range(count):
        bufs = frames[k % _DISTINCT]
        ta = time.ticks_us()
        for bus in range(buses):
            fe.ingest_i2s(bus, bufs[bus])
        tb = time.ticks_us()
        before = fe.correlated_frames
        fe.process()
        tc = time.ticks_us()
        if t_in is None:
            continue
        t_in[k] = time.ticks_diff(tb, ta)
        if fe.correlated_frames != before:
            t_corr[nc] = time.ticks_diff(tc, tb)
            nc += 1
        else:
            t_rest[nr] = time.ticks_diff(tc, tb)
            nr += 1
    return nc, nr


def _median(a, n):
    """sorted(a[:n])[n // 2], found in place (Hoare's selection, which
    reorders a[:n]): a sorted copy would take two blocks of 4n bytes (30 KB
    each at 7,500 frames), more than a fragmented 32-bit heap may hold."""
    k = n // 2
    lo = 0
    hi = n - 1
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


def _grown(fe, frames, count):
    """Heap growth (bytes) over `count` frames of ingest + process alone."""
    buses = len(frames[0])
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for k in range(count):
        bufs = frames[k % _DISTINCT]
        for bus in range(buses):
            fe.ingest_i2s(bus, bufs[bus])
        fe.process()
    grown = gc.mem_alloc() - before
    gc.enable()
    return grown


def main():
    desc = config.load_board(sys.argv[2])
    cfg = config.merge_user({})
    gc.collect()
    base = gc.mem_alloc()
    fe = frontend.FrontEnd(desc, cfg)
    gc.collect()
    fe_heap = gc.mem_alloc() - base  # the front end's own buffers and state
    frames = _frames(fe, desc)
    _run(fe, frames, 1)  # past the warm-up, noise floor settled
    grown = _grown(fe, frames, 1000)

    # per-frame times over _RUNS runs of _SECONDS; the median of each kind of
    # frame is robust to the preemptions of a shared machine
    count = _SECONDS * 1000 // fe.frame_ms
    t_in = talker.zeros("i", count * _RUNS)
    t_corr = talker.zeros("i", count * _RUNS)
    t_rest = talker.zeros("i", count * _RUNS)
    nc = 0
    nr = 0
    ni = 0
    for _ in range(_RUNS):
        fe = frontend.FrontEnd(desc, cfg)
        _run(fe, frames, 1)
        gc.collect()
        c, r = _run(fe, frames, _SECONDS, memoryview(t_in)[ni:], memoryview(t_corr)[nc:],
                    memoryview(t_rest)[nr:])
        ni += count
        nc += c
        nr += r
    fps = 1000 // fe.frame_ms
    ingest_us = _median(t_in, ni)
    corr_us = _median(t_corr, nc)
    rest_us = _median(t_rest, nr)
    share = nc / (nc + nr)
    ms = fps * (ingest_us + share * corr_us + (1 - share) * rest_us) / 1000
    ingest_ms = fps * ingest_us / 1000
    worst = fps * (ingest_us + corr_us) / 1000
    tag = "@@BENCH frontend"
    print("%s cpu_ms_per_audio_s %.3f ms target <= %.1f" % (tag, ms, _TARGET_MS))
    print("%s ingest_ms_per_audio_s %.3f ms" % (tag, ingest_ms))
    print("%s frames_correlated_share %.2f ratio" % (tag, share))
    print("%s process_us_correlated_frame %.1f us" % (tag, corr_us))
    print("%s process_us_other_frame %.1f us" % (tag, rest_us))
    print("%s cpu_ms_per_audio_s_every_frame_correlated %.3f ms" % (tag, worst))
    print("%s heap_bytes %d bytes" % (tag, fe_heap))
    print("%s heap_growth_1000_frames %d bytes target <= 0" % (tag, grown))
    print("%s esp32_est_ms_per_audio_s %.0f ms" % (tag, ms * _PORT_OVER_ESP32))
    print("%s esp32_est_core_pct %.1f pct target <= 12.5" % (tag, ms * _PORT_OVER_ESP32 / 10))
    print("%s esp32_est_core_pct_every_frame_correlated %.1f pct" % (tag, worst * _PORT_OVER_ESP32 / 10))
    print("# esp32 estimate: unix-port time x %d (unix port ~50x a 240 MHz ESP32 core, ESP32-NOTES.md)"
          % _PORT_OVER_ESP32)


main()
