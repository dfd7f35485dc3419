# The audio front end under MicroPython: interface, allocation, faults.
# Signals are made here with an integer noise generator (no numpy on the device).
import array
import gc

from fwlib import Xorshift32
from fwlib import board as _board
from tbfw import config, dsp, frontend, frontsetup, talker
from tbfw.pipeline import Pipeline


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


class _LowNoise(Xorshift32):
    """Noise with most of its energy under 4 kHz (a 4-sample moving sum), as
    speech and a room's noise have: the pre-emphasis then leaves a
    correlation peak a few lags wide, as speech gives, not white noise's
    one-lag spike."""

    def __init__(self, seed):
        super().__init__(seed)
        self.w = [0, 0, 0]

    def sample(self, amp):
        x = super().sample(amp)
        w = self.w
        y = (x + w[0] + w[1] + w[2]) // 2
        w[2] = w[1]
        w[1] = w[0]
        w[0] = x
        return y


def _delayed_noise_frames(fe, count, amp, delay, seed=1, mic_amp=None, low=False):
    """Frames where every minus channel hears the plus channel `delay`
    samples later (an integer delay, or a tuple of one per pair), plus
    independent noise at each microphone (amp // 10 unless mic_amp). low:
    the source and the microphones' noise as _LowNoise, not white; amp 0
    for the microphones' noise alone."""
    n = fe.frame_samples
    c = fe.channels
    delays = delay if isinstance(delay, tuple) else (delay,) * fe.pairs
    if mic_amp is None:
        mic_amp = amp // 10
    src = _LowNoise(seed) if low else Xorshift32(seed)
    # lowpassed, each microphone its own generator; white, one for all in turn
    mics = [_LowNoise(seed + 7 + ch) for ch in range(c)] if low else [Xorshift32(seed + 7)] * c
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
            for p in range(fe.pairs):
                plus, minus = fe._pair_ch[p]
                a[i * c + plus] = base[t] + mics[plus].sample(mic_amp)
                a[i * c + minus] = base[t - delays[p]] + mics[minus].sample(mic_amp)
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


def _settled(fe, room):
    """The room's noise alone for 60 frames: the floor settles on it."""
    for i in range(60):
        fe.ingest_pcm16(room[i % len(room)])
        fe.process()


def _heard(fe, frames, turns, room):
    """Turns of `frames` (15 each) with the room's noise between (5): per
    turn, frames hear() scored, and of those how many read 0.375 more (96
    in Q8) at the first talker's lags, and at the second's, among the frames
    without a confident direction."""
    scored = [0, 0, 0]
    for turn in range(turns):
        for i in range(15):
            fe.ingest_pcm16(frames[(turn + i) % len(frames)])
            fe.process()
            confident = fe.direction_valid and min(fe.lag_conf_q8[0], fe.lag_conf_q8[1]) >= 64
            if fe.hear() and not confident:
                d = fe.heard_q8[0] - fe.heard_q8[1]
                scored[0] += 1
                if d >= 96:
                    scored[1] += 1
                elif d <= -96:
                    scored[2] += 1
        for i in range(5):
            fe.ingest_pcm16(room[i % len(room)])
            fe.process()
            fe.hear()
    return scored


def test_listening_at_the_talkers_lags_names_the_talker_a_noisy_frame_correlates_at():
    # two talkers at 45 and 225 degrees (lags +3 and -3 samples at both
    # pairs), each under noise 4.4 dB louder than their voice at every
    # microphone: about 7 dB over the room's floor, so few frames have a
    # confident direction, but their correlation still leans to the lags
    fe = _fe()
    a = _delayed_noise_frames(fe, 8, 1200, (3, 3), 3, mic_amp=2000, low=True)
    b = _delayed_noise_frames(fe, 8, 1200, (-3, -3), 5, mic_amp=2000, low=True)
    room = _delayed_noise_frames(fe, 4, 0, (0, 0), 9, mic_amp=1000, low=True)
    _settled(fe, room)
    assert _heard(fe, a, 4, room) == [0, 0, 0]  # no talkers known: nothing heard
    fe.listen_at([45, 225])
    _heard(fe, a, 10, room)  # the speech level falls to the room's (from 0 dBFS)
    got_a = _heard(fe, a, 20, room)
    got_b = _heard(fe, b, 20, room)
    assert got_a[0] >= 200 and got_b[0] >= 200, (got_a, got_b)
    assert got_a[1] >= got_a[0] // 2 and got_a[2] == 0, got_a
    assert got_b[2] >= got_b[0] // 5 and got_b[1] == 0, got_b
    fe.listen_at([45, -1])  # a talker lost: not listening
    assert _heard(fe, a, 4, room) == [0, 0, 0]


def test_listening_at_the_talkers_lags_only_in_a_noisy_room_and_without_allocating():
    fe = _fe()
    loud = _delayed_noise_frames(fe, 4, 6000, (3, 3), 3, mic_amp=200, low=True)  # the voice 30 dB over the noise
    room = _delayed_noise_frames(fe, 4, 0, (0, 0), 9, mic_amp=100, low=True)
    _settled(fe, room)
    fe.listen_at([45, 225])
    assert _heard(fe, loud, 30, room)[0] == 0  # a quiet room: directions enough
    fe = _fe()
    a = _delayed_noise_frames(fe, 4, 1200, (3, 3), 3, mic_amp=2000, low=True)
    room = _delayed_noise_frames(fe, 4, 0, (0, 0), 9, mic_amp=1000, low=True)
    _settled(fe, room)
    fe.listen_at([45, 225])
    _heard(fe, a, 10, room)
    places = [45, 225]
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    heard = 0
    for i in range(400):
        fe.ingest_pcm16(a[i % 4] if i % 20 < 15 else room[i % 4])
        fe.process()
        if fe.hear():
            heard += 1
        if i % 50 == 0:
            places[0] = 45 + i // 50  # the talkers' places move, as the model's do
            fe.listen_at(places)
    grown = gc.mem_alloc() - before
    gc.enable()
    assert heard > 200, heard
    assert grown == 0, grown


def test_the_pipeline_votes_a_noisy_frame_for_the_talker_heard_at_their_lags():
    desc = config.validate_board(_board())
    pipe = Pipeline(desc, config.merge_user({}))
    conv = pipe.conv
    fe = pipe.fe
    room = _delayed_noise_frames(fe, 4, 0, (0, 0), 9, mic_amp=1000, low=True)
    a = _delayed_noise_frames(fe, 8, 1200, (3, 3), 3, mic_amp=2000, low=True)
    for i in range(60):
        pipe.step_pcm16(room[i % 4], 0)
    level = fe.frame_db_q8 + 7 * 256
    for turn in range(20):  # two talkers learned from confident frames
        for _ in range(50):
            conv.frame(True, True, 45 if turn % 2 == 0 else 225, 200, level, 1)
        for _ in range(10):
            conv.frame(False, False, 0, 0, level, 1)
    assert conv.model.learned, conv.model.slot_az
    slot_a = talker.SLOT_A if talker.angle_diff(conv.model.slot_az[0], 45) < 20 else talker.SLOT_B
    for i in range(300):  # the speech level falls to the room's
        pipe.step_pcm16(a[i % 8] if i % 20 < 15 else room[i % 4], 2)
    listened = given = 0
    for i in range(400):
        votes = conv.model.votes
        who = pipe.step_pcm16(a[i % 8] if i % 20 < 15 else room[i % 4], 3)
        confident = fe.direction_valid and min(fe.lag_conf_q8[0], fe.lag_conf_q8[1]) >= conv.model.min_conf_q8
        if conv.model.votes > votes and not confident:
            listened += 1
            if who == slot_a:
                given += 1
    assert listened >= 100, listened
    assert given == listened, (given, listened)
