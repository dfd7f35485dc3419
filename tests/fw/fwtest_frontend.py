# The audio front end under MicroPython: interface, allocation, faults.
# Signals are made here with an integer noise generator (no numpy on the device).
import array
import gc

from fwlib import Xorshift32
from fwlib import board as _board
from tbfw import config, dsp, frontend, frontsetup


def _fe(overrides=None, board=None):
    desc = config.validate_board(board or _board())
    return frontend.FrontEnd(desc, config.merge_user(overrides or {}))


def _quiet(fe, amp, seed):
    """One frame of independent low-level noise per channel, as columns."""
    cols = []
    for ch in range(fe.channels):
        g = Xorshift32(seed + ch)
        cols.append([g.sample(amp) for _ in range(fe.frame_samples)])
    return cols


def _pcm_frame(fe, values):
    """values[ch][i] -> interleaved int16 bytes."""
    n = fe.frame_samples
    c = fe.channels
    a = array.array("h", [0] * (n * c))
    for ch in range(c):
        col = values[ch]
        for i in range(n):
            a[i * c + ch] = col[i]
    return bytes(a)


def _delayed_noise_frames(fe, count, amp, delay, seed=1):
    """Frames where every minus channel hears the plus channel `delay`
    samples later (integer delay), plus a little independent noise."""
    n = fe.frame_samples
    c = fe.channels
    src = Xorshift32(seed)
    mic = Xorshift32(seed + 7)
    total = count * n + 32
    # an array, not a list: on a 32-bit MicroPython the list's 4-byte slots
    # and the noise generator's long ints do not fit the default heap together
    base = array.array("h", bytes(2 * total))
    for i in range(total):
        base[i] = src.sample(amp)
    frames = []
    for f in range(count):
        a = array.array("h", [0] * (n * c))
        for i in range(n):
            t = f * n + i + 16
            for plus, minus in fe._pair_ch:
                a[i * c + plus] = base[t] + mic.sample(amp // 10)
                a[i * c + minus] = base[t - delay] + mic.sample(amp // 10)
        frames.append(bytes(a))
    return frames


def test_interface_sizes():
    fe = _fe()
    assert fe.frame_samples == 320
    assert fe.channels == 4 and fe.pairs == 2
    assert len(fe.level_db_q8) == 4 and len(fe.lag_q8) == 2 and len(fe.lag_conf_q8) == 2
    fe10 = _fe({"frame_ms": 10})
    assert fe10.frame_samples == 160
    one = _board()
    del one["mics"][2:]
    del one["i2s"][1:]
    del one["pairs"][1:]
    fe1 = _fe(board=one)
    assert fe1.channels == 2 and fe1.pairs == 1 and fe1.ambiguous


def test_warm_up_discards_first_300_ms():
    fe = _fe()
    frames = _delayed_noise_frames(fe, 1, 8000, 2)
    count = 0
    while True:
        fe.ingest_pcm16(frames[0])
        fe.process()
        if not fe.warming_up:
            break
        assert not fe.speech
        count += 1
    assert count * 20 >= 300 and count * 20 < 320, count


def test_known_integer_delays_give_the_lag():
    for delay in (-4, -1, 0, 3, 5):
        fe = _fe()
        frames = _delayed_noise_frames(fe, 40, 6000, delay, seed=3 + delay)
        quiet = _pcm_frame(fe, _quiet(fe, 30, 9))
        for _ in range(30):  # settle the floor on quiet noise
            fe.ingest_pcm16(quiet)
            fe.process()
        got = []
        for fr in frames:
            fe.ingest_pcm16(fr)
            fe.process()
            if fe.direction_valid:
                got.append(fe.lag_q8[0])
                got.append(fe.lag_q8[1])
        assert len(got) >= 60, (delay, len(got))
        got.sort()
        med = got[len(got) // 2]
        assert abs(med - delay * 256) <= 32, (delay, med)


def test_i2s_and_pcm16_paths_agree():
    fe_a = _fe()
    fe_b = _fe()
    n = fe_a.frame_samples
    frames = _delayed_noise_frames(fe_a, 20, 9000, 2)
    for fr in frames:
        pcm = array.array("h", fr)
        # the same samples as the two I2S buses deliver them (sample in bits 31..16)
        for bus in range(2):
            left, right = fe_b._buses[bus]
            w = array.array("i", [0] * (2 * n))
            for i in range(n):
                w[2 * i] = pcm[i * 4 + left] << 16
                w[2 * i + 1] = pcm[i * 4 + right] << 16
            fe_b.ingest_i2s(bus, bytes(w))
        fe_a.ingest_pcm16(fr)
        fe_a.process()
        fe_b.process()
        assert list(fe_a.level_db_q8) == list(fe_b.level_db_q8)
        assert list(fe_a.lag_q8) == list(fe_b.lag_q8)
        assert fe_a.speech == fe_b.speech


def test_i2s_24_bit_words_and_gain_shift():
    # a 24-bit sample in bits 31..8 keeps its low bits: with gain_shift 8 the
    # Q15 sample is the 24-bit value itself (after DC removal)
    fe = _fe({"gain_shift": 8})
    n = fe.frame_samples
    w = array.array("i", [0] * (2 * n))
    for i in range(n):
        v = 300 if (i // 8) % 2 else -300
        w[2 * i] = v << 8
        w[2 * i + 1] = (-v) << 8
    fe.ingest_i2s(0, bytes(w))
    q = fe._q[0]
    assert max(q) > 250 and min(q) < -250
    assert max(fe._q[1]) > 250


def test_no_allocation_over_1000_frames():
    fe = _fe()
    frames = _delayed_noise_frames(fe, 4, 8000, 3)
    quiet = _pcm_frame(fe, _quiet(fe, 20, 5))
    for i in range(40):  # past the warm-up, floor settled
        fe.ingest_pcm16(quiet)
        fe.process()
    speech_frames = 0
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for i in range(1000):
        fr = frames[i & 3] if (i // 50) % 2 else quiet
        fe.ingest_pcm16(fr)
        fe.process()
        if fe.direction_valid:
            speech_frames += 1
    grown = gc.mem_alloc() - before
    gc.enable()
    assert speech_frames > 300, speech_frames
    assert fe.dead_mask == 0
    assert grown == 0, grown


def test_dead_channel_is_reported_and_direction_continues_on_one_pair():
    fe = _fe()
    frames = _delayed_noise_frames(fe, 8, 8000, 3)
    dead_frames = []
    for fr in frames:
        a = array.array("h", fr)
        for i in range(fe.frame_samples):
            a[i * 4 + 3] = -32768  # Y- stuck at the negative rail
        dead_frames.append(bytes(a))
    quiet = array.array("h", _pcm_frame(fe, _quiet(fe, 20, 5)))
    for i in range(fe.frame_samples):
        quiet[i * 4 + 3] = -32768
    for i in range(60):  # the floor settles on quiet noise, the stuck channel is found
        fe.ingest_pcm16(bytes(quiet))
        fe.process()
    assert fe.dead_mask == 1 << 3, fe.dead_mask
    valid = 0
    for i in range(150):
        fe.ingest_pcm16(dead_frames[i % 8])
        fe.process()
        if i > 10 and fe.direction_valid:
            valid += 1
            assert fe.ambiguous
    assert fe.dead_mask == 1 << 3, fe.dead_mask
    assert fe.clip_count >= 210 * fe.frame_samples
    assert valid > 30, valid
    assert fe.speech


def test_clip_counter_counts_full_scale_square():
    fe = _fe()
    n = fe.frame_samples
    col = [32767 if (i // 10) % 2 else -32768 for i in range(n)]
    quiet = [0] * n
    fr = _pcm_frame(fe, [col, quiet, quiet, quiet])
    fe.ingest_pcm16(fr)
    assert fe.clip_count == n, fe.clip_count


def test_db20_table():
    tab = frontsetup._DB_Q8
    assert dsp.db20_q8(1, tab) == 0
    assert dsp.db20_q8(0, tab) == 0
    # 20 log10(1000) = 60 dB
    assert abs(dsp.db20_q8(1000, tab) - 60 * 256) <= 3
    assert abs(dsp.db20_q8(1 << 29, tab) - 44694) <= 3  # 174.58 dB * 256


def test_integer_helpers():
    for v in (0, 1, 2, 3, 4, 15, 16, 17, 99, 1 << 20, (1 << 29) + 12345, (1 << 30) - 1):
        r = dsp.isqrt(v)
        assert r * r <= v < (r + 1) * (r + 1), v
    for v in (0, 1, 2, 3, 255, 256, 65535, 65536, (1 << 30) + 5):
        n = dsp.bitlen(v)
        assert (v == 0 and n == 0) or (1 << (n - 1)) <= v < (1 << n), (v, n)
    tab = frontsetup._ATAN_Q8
    for y, x, deg in ((0, 1, 0), (1, 1, 45), (1, 0, 90), (1, -1, 135), (0, -1, 180), (-1, -1, -135), (-1, 0, -90)):
        got = dsp.atan2_q8(y * 1000, x * 1000, tab)
        assert abs(got - deg * 256) <= 2, (y, x, got)
    xc = array.array("i", [100, 1000, 100, 0])
    assert dsp.peak_q8(xc, 1, tab) == 0
    xc = array.array("i", [900, 1000, 100, 0])
    assert dsp.peak_q8(xc, 1, tab) < -64
    xc = array.array("i", [-(1 << 28), (1 << 29) - 1, (1 << 28), 0])
    assert 0 < dsp.peak_q8(xc, 1, tab) <= 128
    assert 256 < xc[3] <= 363  # the fitted peak is above the sampled one


def test_pcm16_to_words_puts_each_sample_in_the_top_half():
    # Extremes and sign boundaries on 3 of 4 channels; words hold sample << 16
    # as a signed 32-bit value (what array("i") reads on every port).
    samples = (-32768, 32767, -1, 0, 1, -2, 16384, -16385)
    chans = 4
    pcm = array.array("h", [0] * (len(samples) * chans))
    for i, s in enumerate(samples):
        pcm[i * chans + 0] = 7
        pcm[i * chans + 1] = s
        pcm[i * chans + 2] = 5
        pcm[i * chans + 3] = -s - 1
    words = array.array("i", [0x55555555] * (2 * len(samples)))
    assert dsp.pcm16_to_words(pcm, words, len(samples), chans, 1 | (3 << 8)) == len(samples)
    for i, s in enumerate(samples):
        assert words[2 * i] == s * 65536, (i, words[2 * i])
        assert words[2 * i + 1] == (-s - 1) * 65536, (i, words[2 * i + 1])


def test_voiced_is_the_threshold_without_the_hangover():
    # loud noise after a quiet floor: speech and voiced together; then quiet
    # again: speech held 160 ms by the hangover (8 frames), never voiced
    fe = _fe()
    quiet = _pcm_frame(fe, _quiet(fe, 30, 9))
    loud = _delayed_noise_frames(fe, 10, 6000, 1, seed=2)
    for _ in range(30):
        fe.ingest_pcm16(quiet)
        fe.process()
        assert not fe.voiced
    for fr in loud:
        fe.ingest_pcm16(fr)
        fe.process()
        assert fe.voiced and fe.speech
    seen = []
    for _ in range(20):
        fe.ingest_pcm16(quiet)
        fe.process()
        seen.append((fe.voiced, fe.speech))
    # the first quiet frame may still be over the threshold (the DC filter
    # settling); after the last voiced frame, the hangover's frames: speech
    # (7 frames: the hangover counts 8 down from the voiced frame itself)
    last = max(i for i in range(-1, 20) if i < 0 or seen[i][0])
    assert last <= 0, seen
    assert [s for v, s in seen[last + 1:]] == [True] * 7 + [False] * (19 - last - 7), seen
