# What the device does once at boot: the user config, read leniently; the
# data folder; the boot counter; then everything the app holds, built
# (App.__init__ is build() here). Loaded on demand by the app
# (tbfw.ondemand) and released after use, so none of this code stays in
# the heap.

import binascii
import json
import os

from micropython import const

from tbfw import button as buttons
from tbfw import config, ring
from tbfw.answers import Answers
from tbfw.link import Link
from tbfw.pipeline import Pipeline
from tbfw.store import Store


def build(app, board):
    """Build the app (tbfw.app.App) for `board`: what it holds for the
    whole run, set on `app`."""
    app.board = board
    app.desc = board.desc
    # What was wrong on the flash at boot and was worked round (a bad
    # config value, a lost counter file): in `info` and the log.
    app.cfg, problems, app.boot = prepare(board.config_path, board.flash_dir)
    app.device_id = board.device_id()
    app.pipe = Pipeline(app.desc, app.cfg, app.device_id, app.boot)
    app.fe = app.pipe.fe
    app.conv = app.pipe.conv
    # Record ids carry a random number drawn at each boot as well as the
    # boot counter: erasing the flash, or losing both counter files,
    # cannot make the device issue an id it has issued before.
    app.conv.boot_id = boot_nonce()
    app.frame_ms = app.cfg["frame_ms"]
    # A live event and the link's rate once a second, an overrun logged
    # at most once a second, whatever the frame length.
    app.frames_per_s = 1000 // app.frame_ms
    app.frame_samples = app.pipe.frame_samples
    app.audio = board.start_audio(app.frame_samples)
    app._pcm16 = getattr(board, "frame_format", "i2s") == "pcm16"
    if app._pcm16:
        app.fe.prepare_pcm16()
    app.ring = ring.from_board(app.desc)
    app.ring_state = ring.RingState()
    app.ring_driver = ring.RingDriver(app.ring, board.ring_write, ring.FRAME_MS)
    # The store's recovery scan comes after this step, the boot's fullest
    # (App.log_boot, tbfw.bootlog: before the loop, or in the first frame):
    # it adds its notes to the problems.
    app.store = Store(board.flash_dir + "/sessions", app.cfg["store_max_records"],
                       app.cfg["store_max_flash_pct"], scan=False)
    app.store_report = None
    app._boot_problems = problems  # all of them, for the log
    app.problems = problems  # a few, for info (it must fit one line), once the store is scanned
    app.answers = Answers(app)
    app.link = Link(board.serial_read, board.serial_write, app.answers)
    app.button = buttons.Button()
    app.job = None  # a self-test under way (tbfw.selftest.Job)
    app.uptime_s = 0  # whole seconds since the app started (ticks_ms wraps; this does not)
    app._uptime_ms = 0  # the part of a second on top, < 1000
    app._uptime_last_ms = board.ticks_ms()
    app.conv.time_source = app  # uptime() and clock_is_set(), read when a session begins
    app.frames = 0
    app.overruns = 0
    app.worst_frame_us = 0
    app.cost_sum_us = 0
    app.cost_frames = 0
    app.saved = 0
    app.save_errors = 0
    app._ended_at = -1
    app._last_overrun_log = -app.frames_per_s
    app._ended_share = -1
    app.nearly_full = False
    app.link_tx_bps = 0  # bytes the link sent in the last second
    app._rate_bytes = 0
    app._rate_ms = board.ticks_ms()
    # Flash writes asked for during a session wait until it is over: an
    # erase holds off the I2S interrupt, and the driver then keeps only
    # the latest DMA buffer (docs/board.md).
    app.later_acks = []
    app.later_config = None
    # The storage check (statvfs, the budget) at the start of the first
    # frame, as after any change: not in this step, the boot's fullest.
    app.storage_changed = True
    app._apply_display_config()


def boot_nonce():
    """8 hex digits, random for each boot (the ESP32's hardware RNG)."""
    return binascii.hexlify(os.urandom(4)).decode()


def prepare(config_path, flash_dir):
    """(config, problems, boot number): the user config at config_path
    (load_user_lenient), the data folder made, the boot counter in it
    advanced, and what was wrong and was worked round."""
    cfg, problems = load_user_lenient(config_path)
    ensure_dir(flash_dir, problems)
    return cfg, problems, next_boot(flash_dir, problems)


_USER_FILE_MAX = const(4096)  # bytes; a config is a few hundred
_ENOENT = const(2)


def load_user_lenient(path):
    """(config, problems): the user config at `path` with every key that
    cannot be used at its default, and what was wrong, one short text per
    problem. The device boots on whatever the file holds (not JSON, too
    large, a directory, a value outside a range that a newer firmware
    narrowed): it costs at most the settings that are wrong."""
    problems = []
    try:
        f = open(path, "rb")
    except OSError as exc:
        if exc.args and exc.args[0] == _ENOENT:
            return config.defaults(), problems  # no file: the defaults, nothing wrong
        return config.defaults(), ["config: cannot be opened (%s)" % exc]
    try:
        text = f.read(_USER_FILE_MAX + 1)
    except OSError as exc:  # a directory, a bad block
        text = None
        problems.append("config: cannot be read (%s)" % exc)
    finally:
        f.close()
    saved = None
    if text is not None:
        if len(text) > _USER_FILE_MAX:
            problems.append("config: larger than %d bytes" % _USER_FILE_MAX)
        else:
            try:
                saved = json.loads(text)
            except ValueError:
                problems.append("config: not valid JSON")
    if saved is not None and not isinstance(saved, dict):
        problems.append("config: not a JSON object")
        saved = None
    out = config.defaults()
    if saved is None:
        return out, problems
    for key in saved:
        try:
            out[key] = config.check_user_value(key, saved[key])
        except config.ConfigError as exc:
            problems.append(_short(str(exc)) + ("" if key not in config.USER_KEYS else "; default used"))
    return out, problems


def _short(text, most=80):
    return text if len(text) <= most else text[:most - 3] + "..."


def ensure_dir(path, problems):
    """The data folder; a file in its place is moved aside (or removed)."""
    try:
        os.mkdir(path)
        return
    except OSError:
        pass
    try:
        if os.stat(path)[0] & 0x4000:
            return  # a folder (if it cannot be read, the store says so)
    except OSError:
        pass
    problems.append("%s was not a folder: moved aside" % path)
    try:
        os.rename(path, path + ".bad")
    except OSError:
        try:
            os.remove(path)
        except OSError:
            pass
    try:
        os.mkdir(path)
    except OSError as exc:
        problems.append("no data folder: %s" % exc)


_BOOT_FILES = ("boot.txt", "boot2.txt")  # the boot counter, kept twice
_BOOT_MAX = const(0x3FFFFFFF)


def _read_count(path):
    """A counter file's number; -1 when there is none, -2 when it is unusable."""
    try:
        f = open(path, "rb")
    except OSError as exc:
        return -1 if exc.args and exc.args[0] == _ENOENT else -2
    try:
        text = f.read(12).strip()
    except OSError:
        return -2
    finally:
        f.close()
    if not 0 < len(text) <= 10:
        return -2
    for ch in text:
        if not 48 <= ch <= 57:  # ASCII digits only
            return -2
    value = int(text)
    return value if value <= _BOOT_MAX else -2


def next_boot(flash_dir, problems):
    """The boot counter, one more than the higher of its two copies. Both
    copies are written (temporary file + rename), so one lost or damaged
    file cannot set it back; a copy that cannot be used is reported."""
    boot = 0
    folder = flash_dir + "/"
    paths = [folder + name for name in _BOOT_FILES]  # each made once, for the read and the write
    for i in range(len(paths)):
        value = _read_count(paths[i])
        if value == -2:
            problems.append("%s unusable; the other copy counts" % _BOOT_FILES[i])
        boot = max(boot, value)
    boot = min(boot + 1, _BOOT_MAX)
    for path in paths:
        try:
            config.save_json(path, boot)
        except OSError:
            pass
    return boot
