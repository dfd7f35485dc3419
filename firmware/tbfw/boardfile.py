# The board file's rules (hardware/board.json, /board.json on the device):
# what tbfw.config.validate_board checks. A module of its own because it
# runs once, at boot: on the device config drops it after use, so its code
# does not stay in the heap (docs/memory.md). Shared with the host tool.

from tbfw.config import ConfigError

_PIN_MAX = 48  # highest GPIO number on the ESP32-S3
_DIRECTIONS = ("ccw", "cw")
_PSRAM = ("none", "quad", "octal")

# Each chip's pin rules (ESP32 and ESP32-S3 datasheets, MicroPython's esp32
# port). A GPIO is refused when it:
#   absent   does not exist on the chip
#   flash    carries the SPI flash
#   psram    carries the PSRAM for the board file's "psram" kind
#   serial   carries the serial link (UART0 REPL; the S3's native USB)
#   strap    is read at reset to choose the boot mode or the flash voltage
#            (only GPIO 0 is allowed, for a button to GND: it is released
#            at power-up, and pressed it enters the bootloader, as BOOT does)
# and, for an output (I2S clocks, ring data) or a pin needing an internal
# pull (the button), when it is input only (no output driver, no pulls).
# "psram" defaults to the larger kind each chip is sold with: octal on the
# S3 (N8R8, N16R8 modules), quad on the ESP32 (WROVER); "none" frees them.
_CHIPS = {
    "esp32": {
        "absent": (20, 24, 28, 29, 30, 31) + tuple(range(40, _PIN_MAX + 1)),
        "flash": (6, 7, 8, 9, 10, 11),
        "psram": {"quad": (16, 17), "octal": None},
        "serial": (1, 3),
        "strap": (0, 2, 5, 12, 15),
        "input_only": (34, 35, 36, 37, 38, 39),
    },
    "esp32s3": {
        "absent": (22, 23, 24, 25),
        "flash": (26, 27, 28, 29, 30, 31, 32),
        "psram": {"quad": (), "octal": (33, 34, 35, 36, 37)},
        "serial": (19, 20, 43, 44),
        "strap": (0, 3, 45, 46),
        "input_only": (),
    },
}
_WHY = {
    "absent": "does not exist on the %s",
    "flash": "carries the SPI flash on the %s",
    "psram": "carries the PSRAM on this %s (set \"psram\": \"none\" if the module has none)",
    "serial": "carries the serial link on the %s",
    "strap": "is a strapping pin of the %s (read at reset)",
    "input_only": "is input only on the %s (no output driver, no pull resistors)",
}


def _need(obj, key, where):
    if not isinstance(obj, dict) or key not in obj:
        raise ConfigError(where + key, "missing")
    return obj[key]


def _int(obj, key, where, low, high):
    value = _need(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(where + key, "must be a whole number")
    if value < low or value > high:
        raise ConfigError(where + key, "must be from %d to %d, not %d" % (low, high, value))
    return value


def _num(obj, key, where, low, high):
    value = _need(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(where + key, "must be a number")
    if value < low or value > high:
        raise ConfigError(where + key, "must be from %s to %s, not %s" % (low, high, value))
    return float(value)


def _list(obj, key, where, low, high):
    value = _need(obj, key, where)
    if not isinstance(value, list) or len(value) < low or len(value) > high:
        raise ConfigError(where + key, "must be a list of %d to %d entries" % (low, high))
    return value


def validate(board):
    """config.validate_board's rules: the board with `channels` and `pair_lags`."""
    if not isinstance(board, dict):
        raise ConfigError("board", "must be a JSON object")
    chip = _need(board, "chip", "")
    if not isinstance(chip, str) or chip not in _CHIPS:
        raise ConfigError("chip", "must be one of %s" % ", ".join(sorted(_CHIPS)))
    psram = board.get("psram", "quad" if chip == "esp32" else "octal")
    if not isinstance(psram, str) or psram not in _PSRAM or _CHIPS[chip]["psram"].get(psram, ()) is None:
        raise ConfigError("psram", "must be one of %s on the %s" % (
            ", ".join(k for k in _PSRAM if _CHIPS[chip]["psram"].get(k, ()) is not None), chip))
    rules = (chip, _CHIPS[chip], psram)
    _int(board, "sample_rate_hz", "", 8000, 48000)
    _num(board, "speed_of_sound_m_s", "", 300.0, 400.0)
    mics = _list(board, "mics", "", 2, 4)
    channels = len(mics)
    if channels == 3:
        raise ConfigError("mics", "must be 2 (one pair) or 4 (two pairs) microphones")
    seen = {}
    for i, mic in enumerate(mics):
        where = "mics[%d]." % i
        ch = _int(mic, "channel", where, 0, channels - 1)
        if ch in seen:
            raise ConfigError(where + "channel", "channel %d listed twice" % ch)
        seen[ch] = (_num(mic, "x_m", where, -0.5, 0.5), _num(mic, "y_m", where, -0.5, 0.5))
    buses = _list(board, "i2s", "", channels // 2, channels // 2)
    bus_of = {}
    pins = {}
    ids = {}
    for i, bus in enumerate(buses):
        where = "i2s[%d]." % i
        bus_id = _int(bus, "id", where, 0, 1)
        if bus_id in ids:  # a second I2S(id) de-initialises the first
            raise ConfigError(where + "id", "I2S %d is already used by i2s[%d]" % (bus_id, ids[bus_id]))
        ids[bus_id] = i
        for name in ("sck", "ws", "sd"):
            _claim_pin(pins, _int(bus, name, where, 0, _PIN_MAX), where + name, rules, name != "sd")
        chans = _list(bus, "channels", where, 2, 2)
        for ch in chans:
            if isinstance(ch, bool) or not isinstance(ch, int) or ch not in seen:
                raise ConfigError(where + "channels", "names channel %s, which has no microphone" % ch)
            if ch in bus_of:
                raise ConfigError(where + "channels", "channel %d is on two buses" % ch)
            bus_of[ch] = i
    pairs = _list(board, "pairs", "", channels // 2, channels // 2)
    pair_lags = []
    for i, pair in enumerate(pairs):
        where = "pairs[%d]." % i
        plus = _int(pair, "plus", where, 0, 255)
        minus = _int(pair, "minus", where, 0, 255)
        for name, ch in (("plus", plus), ("minus", minus)):
            if ch not in seen:
                raise ConfigError(where + name, "names channel %d, which does not exist" % ch)
        if plus == minus:
            raise ConfigError(where + "minus", "a pair needs two different channels")
        if bus_of[plus] != bus_of[minus]:
            raise ConfigError(where, "both microphones of a pair must be on one I2S bus")
        dx = seen[plus][0] - seen[minus][0]
        dy = seen[plus][1] - seen[minus][1]
        spacing = (dx * dx + dy * dy) ** 0.5
        if spacing < 0.01:
            raise ConfigError(where, "microphones closer than 10 mm cannot give a direction")
        pair_lags.append((plus, minus, spacing))
    ring = _need(board, "ring", "")
    _claim_pin(pins, _int(ring, "pin", "ring.", 0, _PIN_MAX), "ring.pin", rules, True)
    _int(ring, "count", "ring.", 1, 64)
    _num(ring, "led0_azimuth_deg", "ring.", -360.0, 360.0)
    if _need(ring, "direction", "ring.") not in _DIRECTIONS:
        raise ConfigError("ring.direction", "must be 'ccw' or 'cw'")
    _int(ring, "max_brightness", "ring.", 1, 255)
    channel_ma = _int(ring, "channel_ma", "ring.", 1, 100)
    # The ring's sum of channel values stays under 2^15 (tbfw.ring._finish's bound).
    _int(ring, "budget_ma", "ring.", 1, 32767 * channel_ma // 255)
    button = _need(board, "button", "")
    pin = _int(button, "pin", "button.", 0, _PIN_MAX)  # a button that is not an object: "missing"
    active_low = button.get("active_low", True)
    if not isinstance(active_low, bool):
        raise ConfigError("button.active_low", "must be true or false")
    _claim_pin(pins, pin, "button.pin", rules, True, active_low)
    if "wdt_ms" in board and _int(board, "wdt_ms", "", 0, 60000) and board["wdt_ms"] < 1000:
        raise ConfigError("wdt_ms", "must be 0 (off) or from 1000 to 60000")
    out = dict(board)
    out["channels"] = channels
    out["pair_lags"] = pair_lags
    return out


def _claim_pin(pins, pin, field, rules, drives, boot_button=False):
    """Take `pin` for `field` if the chip allows it. drives: an output or a
    pin that needs an internal pull; boot_button: an active-low button,
    which may sit on GPIO 0."""
    chip, table, psram = rules
    for kind in ("absent", "flash", "psram", "serial", "strap", "input_only"):
        taken = (table[kind].get(psram) or ()) if kind == "psram" else table[kind]
        if pin not in taken or (kind == "input_only" and not drives) or (
                kind == "strap" and pin == 0 and boot_button):
            continue
        raise ConfigError(field, "GPIO %d %s" % (pin, _WHY[kind] % chip))
    if pin in pins:
        raise ConfigError(field, "GPIO %d is already used by %s" % (pin, pins[pin]))
    pins[pin] = field
