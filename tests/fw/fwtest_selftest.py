# Device self-test routines, run on the ESP32 board module with the
# recording stand-ins for machine / neopixel (tests/fwstubs).
import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../fwstubs")  # before the firmware dir

import math  # noqa: E402
import time  # noqa: E402

import machine  # noqa: E402
import neopixel  # noqa: E402
from fwlib import board as _board_json  # noqa: E402
from fwlib import scratch_dir  # noqa: E402
from fwtest_board_esp32 import FakeIn, FakeOut  # noqa: E402
from tbfw import board_esp32, config, ring, selftest  # noqa: E402


def _make():
    desc = config.validate_board(_board_json())
    return board_esp32.Esp32Board(desc, stdin=FakeIn(), stdout=FakeOut())


def _noise(bus, slot, frame):
    # small deterministic noise, different per channel (about -60 dBFS)
    h = (frame * 2654435761 + bus * 97 + slot * 13) & 0xFFFF
    return ((h & 0x3F) - 32) << 16


def _set_sources(board, fn):
    for bus in board.desc["i2s"]:
        machine.SIM["i2s"][bus["id"]].source = fn


def test_channel_slots_and_ring_leds_follow_the_board_file():
    desc = config.validate_board(_board_json())
    slots = selftest.channel_slots(desc)
    for k, bus in enumerate(desc["i2s"]):
        assert slots[bus["channels"][0]] == (k, 0)
        assert slots[bus["channels"][1]] == (k, 1)
    # the LED nearest an azimuth is the ring's (tbfw.ring.Ring.led_of), as the tap check shows it
    count = desc["ring"]["count"]
    assert ring.from_board(desc).led_of(desc["ring"]["led0_azimuth_deg"]) == 0
    assert ring.from_board(desc).led_of(90.0) == count // 4  # ccw
    desc["ring"]["direction"] = "cw"
    assert ring.from_board(desc).led_of(90.0) == count - count // 4


def test_mic_levels_report_each_channel_and_a_dead_one():
    b = _make()
    b.start_audio(320)
    amp = {0: 0.5, 1: 0.05, 2: 0.005}  # channel -> sine amplitude; channel 3 dead
    slots = selftest.channel_slots(b.desc)
    # one period of 80 samples (200 Hz): a whole number per frame, no DC
    wave = {}
    for c, a in amp.items():
        wave[slots[c]] = [int(a * 32767 * math.sin(2 * math.pi * i / 80)) << 16 for i in range(80)]
    silent = [0] * 80

    def source(bus, slot, frame):
        return wave.get((bus, slot), silent)[frame % 80]

    _set_sources(b, source)
    out = selftest.mic_levels(b, frames=10)
    levels = dict((ch["channel"], ch) for ch in out["channels"])
    for c, a in amp.items():
        # a sine's rms is a/sqrt(2); the mean-absolute estimate assumes
        # Gaussian noise, so it reads a sine 20*log10(0.798/0.707) = 1.05 dB high
        want = 20 * math.log10(a / math.sqrt(2)) + 1.05
        assert abs(levels[c]["rms_dbfs"] - want) < 0.3, (c, levels[c], want)
        assert abs(levels[c]["peak_dbfs"] - 20 * math.log10(a)) < 0.5, levels[c]
        assert not levels[c]["stuck"]
    assert levels[3]["stuck"] and levels[3]["rms_dbfs"] == -120.0
    assert levels[0]["name"] == "X+"
    b.stop_audio()


def _tap_source(board, tapped, at_frame, partner):
    slots = selftest.channel_slots(board.desc)
    chan = {}
    for c, key in enumerate(slots):
        chan[key] = c
    # the far microphone of the pair hears it 4 samples later; the other
    # pair (unrelated phase) 2 samples later and quieter
    delay = dict((c, 0 if c == tapped else 4 if c == partner else 2) for c in range(len(slots)))

    def source(bus, slot, frame):
        t = frame - at_frame
        if t < 0 or t >= 50:
            return _noise(bus, slot, frame)
        c = chan[(bus, slot)]
        t -= delay[c]
        if t < 0:
            return _noise(bus, slot, frame)
        gain = 1.0 if c == tapped else 0.25
        return _noise(bus, slot, frame) + (int(gain * 20000 * math.exp(-t / 8.0)) << 16)

    return source


def test_tap_check_names_the_loudest_channel_and_lights_its_led():
    b = _make()
    b.start_audio(320)
    strip = neopixel.SIM["strips"][-1]
    now = machine.SIM["i2s"][0].sim_now_frame()
    # tap next to channel 3 (Y-), 0.8 s from now: after the quiet frames
    _set_sources(b, _tap_source(b, 3, now + 16000 * 8 // 10, partner=2))
    result = selftest.tap_check(b, 3, timeout_ms=3000)
    assert result["timeout"] is False, result
    assert result["led"] == 3 and result["ok"] and result["first_in_pair"], result
    # while waiting, the LED nearest Y- (azimuth -90 degrees) was lit
    lit = strip.writes[0]
    assert b.desc["ring"]["led0_azimuth_deg"] == 0 and b.desc["ring"]["direction"] == "ccw"
    want = 3 * strip.n // 4  # LED 0 at +x, counter-clockwise: three quarters round is -90 degrees
    assert [i for i in range(strip.n) if lit[3 * i]] == [want]
    assert strip.writes[-1] == bytes(3 * strip.n)
    b.stop_audio()


def test_tap_check_reports_swapped_wiring():
    b = _make()
    b.start_audio(320)
    now = machine.SIM["i2s"][0].sim_now_frame()
    # the tap by channel 0 shows up loudest on channel 1 (L/R pins swapped)
    _set_sources(b, _tap_source(b, 1, now + 16000 * 8 // 10, partner=0))
    result = selftest.tap_check(b, 0, timeout_ms=3000)
    assert result["led"] == 1 and not result["ok"], result
    b.stop_audio()


def test_tap_check_times_out_in_silence():
    b = _make()
    b.start_audio(320)
    _set_sources(b, _noise)
    t0 = time.ticks_ms()
    result = selftest.tap_check(b, 0, timeout_ms=300)
    assert result["timeout"] and not result["ok"]
    assert time.ticks_diff(time.ticks_ms(), t0) < 2500
    b.stop_audio()


def test_led_walk_lights_each_led_once_in_order():
    b = _make()
    strip = neopixel.SIM["strips"][-1]
    out = selftest.led_walk(b, step_ms=1)
    count = b.desc["ring"]["count"]
    assert out["leds"] == count
    walk = strip.writes[-(count + 1):]
    for i in range(count):
        lit = [j for j in range(count) if walk[i][3 * j:3 * j + 3] != b"\0\0\0"]
        assert lit == [i], (i, lit)
        assert max(walk[i]) <= b.desc["ring"]["max_brightness"]
    assert walk[-1] == bytes(3 * count)


def test_button_check_sees_a_press():
    b = _make()
    pin = b.desc["button"]["pin"]
    t0 = time.ticks_ms()

    def level(now):
        dt = time.ticks_diff(now, t0)
        return 0 if 100 <= dt < 250 else 1  # pressed (active low) for 150 ms

    machine.sim_drive(pin, level)
    out = selftest.button_check(b, timeout_ms=2000, poll_ms=5)
    machine.sim_drive(pin, None)
    assert out["ok"] and not out["timeout"], out
    assert 100 <= out["held_ms"] <= 200, out  # 150 ms, sampled every 5 ms on a busy machine


def test_button_check_times_out_and_flags_a_stuck_button():
    b = _make()
    pin = b.desc["button"]["pin"]
    machine.sim_drive(pin, 0)
    out = selftest.button_check(b, timeout_ms=200, poll_ms=5)
    machine.sim_drive(pin, None)
    assert not out["ok"] and out["timeout"] and out["down_at_start"]


def test_flash_write_read():
    b = _make()
    b.flash_dir = scratch_dir() + "/data"
    out = selftest.flash_check(b, nbytes=4096)
    assert out["ok"] and out["bytes"] == 4096
    assert out["write_ms"] >= 0 and out["read_ms"] >= 0
    import os

    assert "selftest.tmp" not in os.listdir(b.flash_dir)


def test_frame_cost_times_the_process_not_the_wait():
    b = _make()
    b.start_audio(320)

    def busy(bufs):
        t0 = time.ticks_us()
        while time.ticks_diff(time.ticks_us(), t0) < 2000:
            pass

    out = selftest.frame_cost(b, busy, frames=10)
    assert out["frames"] == 10 and out["budget_us"] == 20000
    assert 2000 <= out["mean_us"] < 8000, out  # not the ~20 ms spent waiting
    assert 10.0 <= out["load_pct"] < 40.0, out
    own = selftest.frame_cost(b, frames=5)
    assert 0 < own["mean_us"] < own["budget_us"], own
    b.stop_audio()
