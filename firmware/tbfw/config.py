# Board file and user config: loading and validation.
#
# Shared by the firmware (MicroPython) and the host tool (CPython): one
# implementation of the rules, so the device, the simulator and the docs
# cannot disagree about what a valid board is.
#
# The board file (hardware/board.json, /board.json on the device) describes
# the hardware: pins, microphone positions and pairs, the LED ring. The user
# config (/config.json on flash) holds the settings a person may change; the
# allowed keys, their defaults and ranges are the table USER_KEYS below.

import json


class ConfigError(ValueError):
    """A board file or config value is invalid. `field` names it."""

    def __init__(self, field, message):
        super().__init__("%s: %s" % (field, message))
        self.field = field
        self.message = message


# User config: key -> (default, kind, low, high, help).
# kind: "int" (low..high inclusive), "bool", or "choice" (low is the tuple of
# allowed values, high unused).
USER_KEYS = {
    "frame_ms": (20, "int", 10, 32, "audio frame length in milliseconds"),
    "gain_shift": (0, "int", 0, 8, "digital gain as a left shift of the samples"),
    "target_share_pct": (30, "int", 10, 60, "initiator's target share of talk time"),
    "band_pct": (5, "int", 1, 20, "half-width of the target band, percentage points"),
    "meeting_min": (40, "int", 10, 180, "planned meeting length for pacing"),
    "max_session_min": (120, "int", 10, 240, "a session ends by itself after this"),
    "end_silence_s": (300, "int", 30, 3600, "a session ends after this much silence"),
    "initiator_rule": ("first", "choice", ("first", "second"), None,
                       "without a claim, the initiator is whoever speaks first or second"),
    "brightness_pct": (50, "int", 0, 100, "ring brightness under the board's cap"),
    "night": (False, "bool", None, None, "ring off except for faults"),
    "store_max_records": (200, "int", 10, 2000, "most session records kept on flash"),
    "store_max_flash_pct": (50, "int", 5, 90, "most share of free flash the store may use"),
}

_PIN_MAX = 48  # highest GPIO number on the ESP32-S3
_DIRECTIONS = ("ccw", "cw")


def defaults():
    """The user config with every key at its default."""
    out = {}
    for key in USER_KEYS:
        out[key] = USER_KEYS[key][0]
    return out


def check_user_value(key, value):
    """Return `value` if it is allowed for `key`, else raise ConfigError."""
    if key not in USER_KEYS:
        raise ConfigError(key, "unknown key; allowed: " + ", ".join(sorted(USER_KEYS)))
    _default, kind, low, high, _help = USER_KEYS[key]
    if kind == "bool":
        if value is not True and value is not False:
            raise ConfigError(key, "must be true or false")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, "must be a whole number")
        if value < low or value > high:
            raise ConfigError(key, "must be from %d to %d, not %d" % (low, high, value))
    elif value not in low:
        raise ConfigError(key, "must be one of: " + ", ".join(low))
    return value


def merge_user(overrides):
    """Defaults updated with `overrides` (a dict), each value validated."""
    if not isinstance(overrides, dict):
        raise ConfigError("config", "must be a JSON object")
    out = defaults()
    for key in overrides:
        out[key] = check_user_value(key, overrides[key])
    return out


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


def validate_board(board):
    """Check a board description (a dict); return it with derived fields.

    Derived: `channels` (count), `pair_lags` [(plus, minus, spacing_m), ...]
    with the spacing between the two microphones of each pair.
    """
    if not isinstance(board, dict):
        raise ConfigError("board", "must be a JSON object")
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
    for i, bus in enumerate(buses):
        where = "i2s[%d]." % i
        _int(bus, "id", where, 0, 1)
        for name in ("sck", "ws", "sd"):
            _claim_pin(pins, _int(bus, name, where, 0, _PIN_MAX), where + name)
        chans = _list(bus, "channels", where, 2, 2)
        for ch in chans:
            if ch not in seen:
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
    _claim_pin(pins, _int(ring, "pin", "ring.", 0, _PIN_MAX), "ring.pin")
    _int(ring, "count", "ring.", 1, 64)
    _num(ring, "led0_azimuth_deg", "ring.", -360.0, 360.0)
    if _need(ring, "direction", "ring.") not in _DIRECTIONS:
        raise ConfigError("ring.direction", "must be 'ccw' or 'cw'")
    _int(ring, "max_brightness", "ring.", 1, 255)
    button = _need(board, "button", "")
    _claim_pin(pins, _int(button, "pin", "button.", 0, _PIN_MAX), "button.pin")
    if "wdt_ms" in board and _int(board, "wdt_ms", "", 0, 60000) and board["wdt_ms"] < 1000:
        raise ConfigError("wdt_ms", "must be 0 (off) or from 1000 to 60000")
    out = dict(board)
    out["channels"] = channels
    out["pair_lags"] = pair_lags
    return out


def _claim_pin(pins, pin, field):
    if pin in pins:
        raise ConfigError(field, "GPIO %d is already used by %s" % (pin, pins[pin]))
    pins[pin] = field


def load_json(path, what):
    """Read a JSON file; a missing or malformed file is a ConfigError."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        raise ConfigError(what, "cannot read %s" % path)
    except ValueError:
        raise ConfigError(what, "%s is not valid JSON" % path)


def load_board(path):
    return validate_board(load_json(path, "board"))


def load_user(path):
    """The user config at `path`, or the defaults when there is no file."""
    try:
        open(path).close()
    except OSError:
        return defaults()
    return merge_user(load_json(path, "config"))
