# What the device checks once at boot, before it builds anything: the user
# config, read leniently; the data folder; the boot counter. Loaded on
# demand by the app (tbfw.ondemand) and released after use.

import json
import os

from micropython import const

from tbfw import config


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
    for name in _BOOT_FILES:
        value = _read_count(flash_dir + "/" + name)
        if value == -2:
            problems.append("%s unusable; the other copy counts" % name)
        boot = max(boot, value)
    boot = min(boot + 1, _BOOT_MAX)
    for name in _BOOT_FILES:
        try:
            config.save_json(flash_dir + "/" + name, boot)
        except OSError:
            pass
    return boot
