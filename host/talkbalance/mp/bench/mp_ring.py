# MicroPython benchmark: the LED ring renderer's cost per frame.
#   micropython mp_ring.py FIRMWARE_DIR BOARD_FILE
#
# The renderer runs 25 times a second (RingDriver's 40 ms period). Reported:
# microseconds per frame on this port (best of five batches of 200 frames,
# since the machine is shared) for the heaviest state (a session
# with heat, trend, pacing and both talkers speaking) and the mean over every
# mode; heap growth per 1,000 frames; the output stage as the viper kernel
# and as the same loop in plain Python (why it is viper); and an ESP32
# estimate taking the unix port as 50 times one ESP32 core (ESP32-NOTES.md).
import gc
import sys
import time

sys.path.insert(0, sys.argv[1])
from tbfw import config, ring

_FRAMES = 1000
_BATCHES = 5
_PORT_OVER_ESP32 = 50
_FPS = 25


def _finish_python(lin, out, gamma, order, n, bright_q8, budget):
    total = 0
    for s in range(n):
        i = s * 3
        led = order[s] * 3
        r = (gamma[lin[i]] * bright_q8 + 128) >> 8
        g = (gamma[lin[i + 1]] * bright_q8 + 128) >> 8
        b = (gamma[lin[i + 2]] * bright_q8 + 128) >> 8
        out[led] = g
        out[led + 1] = r
        out[led + 2] = b
        total += r + g + b
    if total > budget:
        scale_q16 = (budget << 16) // total
        total = 0
        for i in range(3 * n):
            v = (out[i] * scale_q16) >> 16
            out[i] = v
            total += v
    return total


def _heavy_state():
    st = ring.RingState()
    st.mode = ring.MODE_SESSION
    st.initiator_az = 250
    st.partner_az = 70
    st.share_pm = 420
    st.recent_share_pm = 510
    st.speaking = ring.SPEAK_BOTH
    st.heat = 2
    st.elapsed_s = 2250
    st.storage_nearly_full = True
    st.mic_fault = True
    return st


def _time_frames(r, st, out):
    """Mean us per frame: the best of _BATCHES runs (the machine is shared)."""
    r.render(st, 0, out)
    best = None
    per = _FRAMES // _BATCHES
    for b in range(_BATCHES):
        t0 = time.ticks_us()
        for i in range(per):
            r.render(st, (b * per + i) * 40, out)
        us = time.ticks_diff(time.ticks_us(), t0) / per
        if best is None or us < best:
            best = us
    return best


def main():
    desc = config.load_board(sys.argv[2])["ring"]
    heavy = _heavy_state()
    worst_us = 0.0
    for count in (16, 24):
        desc["count"] = count
        r = ring.Ring(desc)
        out = bytearray(3 * count)
        us = _time_frames(r, heavy, out)
        worst_us = max(worst_us, us)
        print("@@BENCH ring render_session_heat_us_%d %.2f us" % (count, us))
        total_us = 0.0
        for mode in range(len(ring.MODE_NAMES)):
            st = _heavy_state()
            st.mode = mode
            total_us += _time_frames(r, st, out)
        print("@@BENCH ring render_mean_all_modes_us_%d %.2f us" % (count, total_us / len(ring.MODE_NAMES)))
        gc.collect()
        before = gc.mem_alloc()
        for i in range(_FRAMES):
            r.render(heavy, i * 40, out)
        print("@@BENCH ring heap_growth_per_1000_frames_%d %d bytes target <= 0" % (count, gc.mem_alloc() - before))
    lin = bytearray(range(72))
    out = bytearray(72)
    for name, fn in (("viper", ring._finish), ("python", _finish_python)):
        us = None
        for _ in range(_BATCHES):
            t0 = time.ticks_us()
            for _ in range(_FRAMES // _BATCHES):
                fn(lin, out, r._gamma, r._order, 24, 200, 2550)
            batch = time.ticks_diff(time.ticks_us(), t0) * _BATCHES / _FRAMES
            us = batch if us is None or batch < us else us
        print("@@BENCH ring output_stage_%s_us_24 %.2f us" % (name, us))
    esp_ms = worst_us * _PORT_OVER_ESP32 / 1000
    print("@@BENCH ring esp32_est_ms_per_frame %.3f ms target <= 4" % esp_ms)
    print("@@BENCH ring esp32_est_cpu_pct_at_25fps %.2f pct target <= 10" % (esp_ms * _FPS / 10))


main()
