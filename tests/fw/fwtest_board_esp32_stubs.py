# The stand-ins for machine / neopixel / esp reject what MicroPython on the
# ESP32 rejects, so a wrong call in the board module fails in the tests.
import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../fwstubs")  # before the firmware dir

import esp  # noqa: E402
import machine  # noqa: E402
import neopixel  # noqa: E402

Pin = machine.Pin
I2S = machine.I2S


def _fails(fn, *exc):
    try:
        fn()
    except exc or (Exception,):
        return
    raise AssertionError("accepted a wrong call")


def _i2s(**over):
    args = dict(sck=Pin(4), ws=Pin(5), sd=Pin(6), mode=I2S.RX, bits=32, format=I2S.STEREO, rate=16000,
                ibuf=8192)
    args.update(over)
    return I2S(0, **args)


def test_i2s_arguments_are_keyword_only_and_checked():
    _fails(lambda: I2S(0, Pin(4), Pin(5), Pin(6), I2S.RX, 32, I2S.STEREO, 16000, 8192), TypeError)
    _fails(lambda: I2S(0, sck=Pin(4), ws=Pin(5), sd=Pin(6), mode=I2S.RX, bits=32, format=I2S.STEREO,
                       rate=16000), TypeError)  # ibuf missing
    _fails(lambda: _i2s(bits=24), ValueError)
    _fails(lambda: _i2s(mode=7), ValueError)
    _fails(lambda: _i2s(format=2), ValueError)
    _fails(lambda: _i2s(sck=4), TypeError)  # pins are Pin objects here
    _fails(lambda: I2S(2, sck=Pin(4), ws=Pin(5), sd=Pin(6), mode=I2S.RX, bits=32, format=I2S.STEREO,
                       rate=16000, ibuf=8192), ValueError)
    i2s = _i2s()
    assert i2s.dma_buffers == 4


def test_i2s_reads_whole_frames_only():
    i2s = _i2s()
    _fails(lambda: i2s.readinto(bytearray(12)), ValueError)  # 1.5 stereo 32-bit frames
    _fails(lambda: i2s.readinto(bytearray(16), 4), ValueError)
    _fails(lambda: i2s.readinto(bytearray(16), 24), ValueError)  # beyond the buffer
    mono16 = _i2s(bits=16, format=I2S.MONO)
    buf = bytearray(2)
    assert mono16.readinto(buf) == 2  # one 16-bit mono frame (blocking until there)
    i2s.deinit()
    _fails(lambda: i2s.readinto(bytearray(8)), OSError)


def test_i2s_overflow_drops_whole_dma_buffers_silently():
    import time

    i2s = _i2s(ibuf=3 * 2048)  # three DMA buffers, a queue of two: 32 ms at 16 kHz
    time.sleep_ms(200)
    avail = i2s.sim_available_frames()
    assert avail == 2 * 256
    assert i2s.dropped_frames >= 256 * 8 and i2s.dropped_frames % 256 == 0


def test_pins_modes_and_pulls():
    _fails(lambda: Pin(27), ValueError)  # flash pins on the S3
    _fails(lambda: Pin(49), ValueError)
    _fails(lambda: Pin(4, 9), ValueError)
    _fails(lambda: Pin(4, Pin.IN, 5), ValueError)
    p = Pin(4, Pin.IN, Pin.PULL_UP)
    assert p.value() == 1
    machine.SIM["chip"] = "esp32"
    try:
        _fails(lambda: Pin(36, Pin.OUT), ValueError)  # input-only on the ESP32
    finally:
        machine.SIM["chip"] = "esp32s3"


def test_neopixel_rtc_wdt():
    _fails(lambda: neopixel.NeoPixel(38, 16), TypeError)
    _fails(lambda: neopixel.NeoPixel(Pin(38), 16, bpp=5), ValueError)
    _fails(lambda: neopixel.NeoPixel(Pin(38), 0), ValueError)
    _fails(lambda: neopixel.NeoPixel(Pin(38), 16, timing=2), ValueError)
    np = neopixel.NeoPixel(Pin(38), 2)
    np[0] = (1, 2, 3)
    assert bytes(np.buf[:3]) == b"\x02\x01\x03"  # GRB on the wire
    rtc = machine.RTC()
    _fails(lambda: rtc.datetime((2026, 1, 1, 3, 0, 0, 0)), TypeError)  # 7-tuple
    _fails(lambda: rtc.datetime((2026, 2, 30, 0, 0, 0, 0, 0)), ValueError)
    _fails(lambda: machine.WDT(0, 5000), TypeError)  # keyword-only
    _fails(lambda: machine.WDT(timeout=0), ValueError)
    _fails(lambda: esp.osdebug(0, 9), ValueError)
