"""The device's user settings on the laptop: their keys, checks and help,
from the firmware's own tbfw.config (one definition on both sides)."""

from __future__ import annotations

from talkbalance.fw import config as fwconfig

USER_KEYS = fwconfig.USER_KEYS
ConfigError = fwconfig.ConfigError


def check(key: str, value):
    """The value as the device would take it; raises ConfigError (with the
    firmware's own message) for an unknown key or a value out of range."""
    return fwconfig.check_user_value(key, value)


def key_help() -> dict[str, str]:
    """What each user setting means: the "key: text" lines of
    tbfw.config.user_help's docstring (kept there, out of the device's heap)."""
    out = {}
    for line in (fwconfig.user_help.__doc__ or "").splitlines():
        key, sep, text = line.strip().partition(": ")
        if sep and key in USER_KEYS:
            out[key] = text
    return out
