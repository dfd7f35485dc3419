# The ESP32 board module under MicroPython, with recording stand-ins for
# machine / neopixel / esp (tests/fwstubs) that enforce the documented API and
# model the I2S DMA queue in real time (overflow drops the oldest buffer).
import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../fwstubs")  # before the firmware dir

import io  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402

import esp  # noqa: E402
import machine  # noqa: E402
import neopixel  # noqa: E402
from fwlib import board as _board_json  # noqa: E402
from tbfw import board_esp32, config  # noqa: E402

_FRAME = 320  # 20 ms at 16 kHz
_BYTES = _FRAME * 8
_WAIT_US = (_FRAME * 3 // 2 + 256) * 1000000 // 16000  # 46 ms


class FakeIn(io.IOBase):
    """Serial input: bytes queued by the test, pollable like sys.stdin."""

    def __init__(self, data=b""):
        self.data = bytearray(data)

    def ioctl(self, req, arg):
        if req == 10:
            return -1
        if req == 3:
            return arg & 1 if self.data else 0
        return 0

    def readinto(self, buf):
        n = min(len(buf), len(self.data))
        for i in range(n):
            buf[i] = self.data[i]
        self.data = self.data[n:]
        return n


class FakeOut:
    def __init__(self, delay_ms=0):
        self.chunks = []
        self.delay_ms = delay_ms

    def write(self, data):
        if self.delay_ms:
            time.sleep_ms(self.delay_ms)
        self.chunks.append(bytes(data))
        return len(data)


def _make(desc=None, out=None, inp=None):
    desc = config.validate_board(desc or _board_json())
    return board_esp32.Esp32Board(desc, stdin=inp or FakeIn(), stdout=out or FakeOut())


def _words(buf, slot):
    return [struct.unpack_from("<i", buf, 8 * i + 4 * slot)[0] for i in range(len(buf) // 8)]


def _index(word):
    return (word >> 16) & 0x7FFF


def test_i2s_receivers_follow_the_board_file():
    b = _make()
    desc = b.desc
    bufs = b.start_audio(_FRAME)
    assert [len(x) for x in bufs] == [_BYTES, _BYTES]
    assert b.start_audio(_FRAME) is bufs  # allocated once
    for bus in desc["i2s"]:
        i2s = machine.SIM["i2s"][bus["id"]]
        assert i2s.pins == (bus["sck"], bus["ws"], bus["sd"])
        assert i2s.bits == 32 and i2s.format == machine.I2S.STEREO
        assert i2s.rate == desc["sample_rate_hz"]
        assert i2s.ibuf % 2048 == 0
        # rides over >= 160 ms of audio (a flash write) and >= 3 frames
        assert i2s.dma_buffers * 256 >= desc["sample_rate_hz"] * 160 // 1000
        assert i2s.dma_buffers * 256 >= 3 * _FRAME
        assert i2s.sd_pull == machine.Pin.PULL_DOWN  # a missing mic reads zeros
        assert i2s.nonblocking  # switched by polling, before the first read
    b.stop_audio()


def test_frames_are_continuous_after_warmup_and_reads_never_block():
    b = _make()
    bufs = b.start_audio(_FRAME)
    frames = []
    worst_us = 0
    for _ in range(40):
        t0 = time.ticks_us()
        assert b.read_frame() is True
        worst_us = max(worst_us, time.ticks_diff(time.ticks_us(), t0))
        frames.append([bytes(x) for x in bufs])
    # the first 300 ms (15 frames) are the microphones' wake-up: zeros
    for f in frames[:15]:
        assert f[0] == bytes(_BYTES) and f[1] == bytes(_BYTES)
    left = []
    for f in frames[15:]:
        for k in (0, 1):
            lw = _words(f[k], 0)
            rw = _words(f[k], 1)
            assert rw == [-w for w in lw]  # right slot came through as right
        left += [_index(w) for w in _words(f[0], 0)]
    for i in range(1, len(left)):
        assert left[i] == (left[i - 1] + 1) & 0x7FFF, (i, left[i - 1], left[i])
    for bus in b.desc["i2s"]:
        reads = machine.SIM["i2s"][bus["id"]].reads
        assert reads and not [r for r in reads if r[2]], "a blocking read"
        assert not [r for r in reads if r[0] % 8], "a read of a partial frame"
    assert worst_us < _WAIT_US + 50000, worst_us
    assert b.lost_samples == 0
    assert not b.mic_fault
    b.stop_audio()


def test_overflow_is_counted_as_lost_samples():
    out = FakeOut()
    b = _make(out=out)
    b.start_audio(_FRAME)
    for _ in range(60):  # 1.2 s: calibrate
        b.read_frame()
    assert b.lost_samples == 0
    time.sleep_ms(450)  # the loop stalls far beyond the 160 ms the queue holds
    for _ in range(130):  # 2.6 s: the loss shows in the next windows
        b.read_frame()
    truth = sum(machine.SIM["i2s"][bus["id"]].dropped_frames for bus in b.desc["i2s"])
    assert truth >= 2 * 256 * 10, truth  # the stand-in really dropped audio
    # within one DMA buffer per bus of what was really dropped
    assert abs(b.lost_samples - truth) <= 2 * 256, (b.lost_samples, truth)
    assert [c for c in out.chunks if c.startswith(b"warn-audio-lost ")], out.chunks
    b.stop_audio()


def test_stalled_bus_reads_zeros_and_sets_mic_fault():
    b = _make()
    bufs = b.start_audio(_FRAME)
    for _ in range(20):
        b.read_frame()
    assert not b.mic_fault
    machine.SIM["i2s"][1].sim_stall(True)
    worst_us = 0
    for _ in range(6):
        t0 = time.ticks_us()
        assert b.read_frame() is True
        worst_us = max(worst_us, time.ticks_diff(time.ticks_us(), t0))
    assert worst_us < _WAIT_US + 50000, worst_us  # bounded wait, no raise
    assert bufs[1] == bytearray(_BYTES)
    assert b.mic_fault
    channels = b.desc["i2s"][1]["channels"]
    assert b.fault_channels == (1 << channels[0]) | (1 << channels[1])
    assert bufs[0] != bytearray(_BYTES)  # the other pair still delivers
    assert b"warn-mic-fault channels 0xc\r\n" in b._out.chunks
    machine.SIM["i2s"][1].sim_stall(False)
    for _ in range(10):
        b.read_frame()
    assert not b.mic_fault
    b.stop_audio()


def test_dead_microphone_sets_mic_fault_for_its_channel():
    b = _make()
    b.start_audio(_FRAME)
    i2s = machine.SIM["i2s"][0]
    live = i2s.source

    def dead_right(bus, slot, frame):
        return 0 if slot == 1 else live(bus, slot, frame)

    i2s.source = dead_right
    for _ in range(15 + 24):  # warm-up, then just under 500 ms
        b.read_frame()
    assert not b.mic_fault
    for _ in range(3):
        b.read_frame()
    assert b.mic_fault
    assert b.fault_channels == 1 << b.desc["i2s"][0]["channels"][1]
    b.stop_audio()


def test_one_pair_board_has_one_receiver():
    desc = _board_json()
    desc["mics"] = desc["mics"][:2]
    desc["i2s"] = desc["i2s"][:1]
    desc["pairs"] = desc["pairs"][:1]
    b = _make(desc)
    bufs = b.start_audio(_FRAME)
    assert len(bufs) == 1
    assert b.read_frame() is True
    b.stop_audio()


def test_ring_write_sends_grb_bytes():
    b = _make()
    strip = neopixel.SIM["strips"][-1]
    ring = b.desc["ring"]
    assert strip.pin.id == ring["pin"] and strip.n == ring["count"]
    assert strip.bpp == 3 and strip.timing == 1
    grb = bytearray(3 * ring["count"])
    for i in range(len(grb)):
        grb[i] = i
    b.ring_write(grb)
    assert strip.writes[-1] == bytes(grb)
    try:
        b.ring_write(bytearray(3))
    except ValueError:
        pass
    else:
        raise AssertionError("accepted a short pixel buffer")
    b.stop()
    assert strip.writes[-1] == bytes(3 * ring["count"])  # ring off


def test_button_is_active_low_with_pull_up():
    b = _make()
    pin = b.desc["button"]["pin"]
    assert machine.SIM["pins"][pin].pull == machine.Pin.PULL_UP
    machine.sim_drive(pin, None)
    assert b.button_pressed() is False
    machine.sim_drive(pin, 0)
    assert b.button_pressed() is True
    machine.sim_drive(pin, 1)
    assert b.button_pressed() is False
    machine.sim_drive(pin, None)


def test_clock_is_unix_time_over_an_rtc_from_2000():
    machine.sim_power_cycle()
    b = _make()
    assert b.time() == 946684800  # the RTC starts at 2000-01-01
    b.set_time(1767225600 + 3723)  # 2026-01-01 01:02:03, a Thursday
    dt = machine.SIM["rtc"].datetime()
    assert dt[:7] == (2026, 1, 1, 3, 1, 2, 3), dt
    assert abs(b.time() - (1767225600 + 3723)) <= 1
    for days in (0, 59, 10957, 11016, 19782, 20454, 47482):
        y, m, d = board_esp32.civil_from_days(days)
        assert board_esp32.days_from_civil(y, m, d) == days
    assert board_esp32.civil_from_days(19782) == (2024, 2, 29)
    assert board_esp32.days_from_civil(2000, 3, 1) == 11017


def test_clock_set_since_power_up_survives_a_reset_not_a_power_loss():
    machine.sim_power_cycle()
    b = _make()
    assert b.clock_is_set() is False  # power-up: 2000-01-01, nothing in RTC memory
    b.set_time(1767225600)
    assert b.clock_is_set() is True
    b = _make()  # a soft or watchdog reset: RTC time and memory kept
    assert b.clock_is_set() is True and abs(b.time() - 1767225600) <= 1
    machine.sim_power_cycle()
    b = _make()
    assert b.clock_is_set() is False and b.time() < 946684800 + 5


def test_device_id_is_hex_of_unique_id():
    b = _make()
    assert b.device_id() == "f412fa5c019e"


def test_watchdog_arms_on_first_feed_and_relaxes_on_stop():
    machine.SIM["wdt"] = None
    b = _make()
    assert machine.SIM["wdt"] is None  # constructing the board arms nothing
    b.wdt_feed()
    wdt = machine.SIM["wdt"]
    assert wdt.timeout == b.desc.get("wdt_ms", 8000)
    b.wdt_feed()
    assert machine.SIM["wdt"] is wdt and wdt.feeds == 2 and not wdt.expired
    b.stop()
    assert machine.SIM["wdt"].timeout == 86400000


def test_watchdog_off_when_board_says_zero():
    machine.SIM["wdt"] = None
    desc = _board_json()
    desc["wdt_ms"] = 0
    b = _make(desc)
    b.wdt_feed()
    assert machine.SIM["wdt"] is None


def test_serial_read_is_non_blocking_and_bounded():
    inp = FakeIn()
    b = _make(inp=inp)
    buf = bytearray(8)
    assert b.serial_read(buf) == 0
    inp.data = bytearray(b"0123456789AB")
    assert b.serial_read(buf) == 8 and bytes(buf) == b"01234567"
    assert b.serial_read(buf) == 4 and bytes(buf[:4]) == b"89AB"
    assert b.serial_read(buf) == 0


def test_serial_write_is_bounded_and_backs_off_from_a_stalled_host():
    out = FakeOut()
    b = _make(out=out)
    assert b.serial_write(b"x" * 1000) == 128  # what the UART FIFO takes
    assert out.chunks[-1] == b"x" * 128
    assert b.serial_write(b"y" * 100) == 0  # the FIFO is full: nothing, no sleep
    time.sleep_ms(12)  # 128 bytes leave at 115200 baud in 11.1 ms
    assert b.serial_write(b"abc") == 3
    time.sleep_ms(12)
    out.delay_ms = 30  # the host holds the port open but does not read
    assert b.serial_write(b"abc") == 3
    n = len(out.chunks)
    t0 = time.ticks_ms()
    assert b.serial_write(b"def") == 0  # skipped: no second 30 ms stall
    assert len(out.chunks) == n and time.ticks_diff(time.ticks_ms(), t0) < 10
    out.delay_ms = 0
    time.sleep_ms(1010)
    assert b.serial_write(b"ghi\n") == 4
    time.sleep_ms(12)
    b.log("hello")
    assert out.chunks[-1] == b"hello\r\n"


def test_log_lines_wait_for_room_and_for_the_end_of_a_frame():
    out = FakeOut()
    b = _make(out=out)
    assert b.serial_write(b"@tb1 part" + b"x" * 111) == 120  # a frame, cut by the FIFO
    b.log("warn-audio-lost 320 samples")  # no room, and inside a frame: it waits
    assert out.chunks == [b"@tb1 part" + b"x" * 111] and b.log_dropped == 0
    time.sleep_ms(12)
    assert b.serial_write(b"yy\n") == 3  # the frame's end; the line follows it
    assert out.chunks[-2:] == [b"yy\n", b"warn-audio-lost 320 samples\r\n"]
    time.sleep_ms(12)
    assert b.serial_write(b"@tb1 ok") == 7
    for i in range(6):  # four wait (mid-frame), two are dropped and counted
        b.log("line %d" % i)
    assert b.log_dropped == 2
    time.sleep_ms(12)
    b.serial_write(b" 1\n")
    time.sleep_ms(12)
    b.log("z" * 300)  # longer than the FIFO: cut to a line that fits
    assert out.chunks[-5:] == [b"line 0\r\n", b"line 1\r\n", b"line 2\r\n", b"line 3\r\n",
                               b"z" * 126 + b"\r\n"], out.chunks[-5:]


def test_make_quietens_esp_idf_logs():
    # make() reads /board.json, which the unix port does not have: the
    # ConfigError proves it looked there, after turning ESP-IDF logs off.
    try:
        board_esp32.make()
    except config.ConfigError as exc:
        assert "/board.json" in exc.message
    else:
        raise AssertionError("found a /board.json on the test machine")
    assert esp.SIM["osdebug"][-1] == (0, esp.LOG_NONE)


class _Instant:
    """A receiver whose data is always there, or comes in two halves."""

    def __init__(self, halves=False):
        self.halves = halves
        self.calls = 0

    def readinto(self, buf, nbytes=-1):
        n = len(buf) if nbytes < 0 else nbytes
        self.calls += 1
        if self.halves and self.calls % 2:
            return (n // 16) * 8  # half the frames, then (next call) the rest
        return n

    def deinit(self):
        pass


def test_read_frame_allocates_nothing():
    import gc

    for halves in (False, True):
        b = _make()
        b.start_audio(_FRAME)
        b._i2s = [_Instant(halves), _Instant(halves)]
        for _ in range(20):  # past the warm-up
            b.read_frame()
        for buf in b._bufs:  # live-looking audio, so that no fault is logged
            for i in range(len(buf)):
                buf[i] = (i * 37) & 0xFF
        b.read_frame()
        assert not b.mic_fault
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()
            for _ in range(100):
                b.read_frame()
            grown = gc.mem_alloc() - before
        finally:
            gc.enable()
        assert grown == 0, (halves, grown)
        if halves:
            assert b._i2s[0].calls >= 2 * 120  # the partial path really ran


def test_memory_report_sums_the_idf_heap_regions():
    import esp32

    b = _make()
    mem = b.idf_heaps()
    # the stand-in's regions: two internal DMA-capable data regions, one executable
    assert mem["internal"] == [51200 + 15072 + 24000, 30720, 40960 + 15072 + 20000]
    assert mem["dma"] == [51200 + 15072, 30720, 40960 + 15072]
    assert mem["idf"] == mem["dma"] and mem["exec"] == [24000, 24000, 20000]
    assert len(esp32.idf_heap_info(esp32.HEAP_DATA)) == 2


def test_clock_reads_the_rtc_once_a_second_and_allocates_nothing_between():
    import gc

    b = _make()
    b.set_time(1767225600)  # 2026-01-01 00:00:00, a long int on the ESP32
    time.sleep_ms(300)
    first = b.time()
    assert first == 1767225600
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(50):  # one per frame: the same object back
            assert b.time() is first
        grown = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert grown == 0, grown
    time.sleep_ms(750)  # past the RTC's next second: read again, at its turn
    assert b.time() == 1767225601
    b.set_time(1767225700)
    assert b.time() == 1767225700
