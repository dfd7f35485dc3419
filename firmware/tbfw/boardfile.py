# The board file's rules (hardware/board.json, /board.json on the device):
# what tbfw.config.validate_board checks. A module of its own because it
# runs once, at boot: on the device config drops it after use, so its code
# does not stay in the heap (docs/memory.md). Shared with the host tool.

from tbfw.config import ConfigError

_PIN_MAX = 48  # highest GPIO number on the ESP32-S3
_DIRECTIONS = ("ccw", "cw")


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
