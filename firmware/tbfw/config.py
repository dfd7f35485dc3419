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
import os

from tbfw import ondemand


class ConfigError(ValueError):
    """A board file or config value is invalid. `field` names it."""

    def __init__(self, field, message):
        super().__init__("%s: %s" % (field, message))
        self.field = field
        self.message = message


# User config: key -> (default, kind, low, high); what each key means is in
# user_help below.
# kind: "int" (low..high inclusive), "bool", or "choice" (low is the tuple of
# allowed values, high unused).
USER_KEYS = {
    "frame_ms": (20, "int", 10, 32),
    "gain_shift": (0, "int", 0, 8),
    "target_share_pct": (30, "int", 10, 60),
    "band_pct": (5, "int", 1, 20),
    "meeting_min": (40, "int", 10, 180),
    "max_session_min": (120, "int", 10, 240),
    "end_silence_s": (300, "int", 30, 3600),
    "initiator_rule": ("first", "choice", ("first", "second"), None),
    "brightness_pct": (50, "int", 0, 100),
    "night": (False, "bool", None, None),
    "store_max_records": (200, "int", 10, 2000),
    "store_max_flash_pct": (50, "int", 5, 90),
}

# When a changed key takes effect: the display keys at once; the keys the
# pipeline and store are built with at the next boot; every other key (what
# a session measures) from the next session.
APPLY_NOW = ("brightness_pct", "night")
APPLY_NEXT_BOOT = ("frame_ms", "gain_shift", "store_max_records", "store_max_flash_pct")


def user_help():
    """What each key of USER_KEYS means, one line each, for the host tool
    (`talkbalance config`). Kept in this docstring because the device
    compiles docstrings away: the texts take none of its heap.

    frame_ms: audio frame length in milliseconds
    gain_shift: digital gain as a left shift of the samples
    target_share_pct: initiator's target share of talk time
    band_pct: half-width of the target band, percentage points
    meeting_min: planned meeting length for pacing
    max_session_min: a session ends by itself after this
    end_silence_s: a session ends after this much silence
    initiator_rule: without a claim, the initiator is whoever speaks first or second
    brightness_pct: ring brightness under the board's cap
    night: ring off except for faults
    store_max_records: most session records kept on flash
    store_max_flash_pct: most share of free flash the store may use
    """


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
    _default, kind, low, high = USER_KEYS[key]
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


def validate_board(board):
    """Check a board description (a dict); return it with derived fields.

    Derived: `channels` (count), `pair_lags` [(plus, minus, spacing_m), ...]
    with the spacing between the two microphones of each pair. The rules
    live in tbfw.boardfile, which is needed once at boot: it is loaded on
    demand (tbfw.ondemand), so its code does not stay in the heap.
    """
    return ondemand.call("boardfile", "validate", board)


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


def save_json(path, obj):
    """Write a JSON file: a temporary file, then a rename, so that a power
    cut leaves the old or the new one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(obj))
    os.rename(tmp, path)


def load_user(path):
    """The user config at `path`, or the defaults when there is no file."""
    try:
        open(path).close()
    except OSError:
        return defaults()
    return merge_user(load_json(path, "config"))


def read_waiting_byte(poll, stream, one):
    """True when a byte was waiting on `stream` (registered for input with
    `poll`) and is now one[0]; never blocks. The board modules' serial input
    (tbfw.board_esp32 and tbfw.board_sim both load this module)."""
    ready = False
    for _event in poll.ipoll(0):
        ready = True
    return ready and bool(stream.readinto(one))
