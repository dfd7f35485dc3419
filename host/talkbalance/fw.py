"""The firmware modules that the host shares (one implementation on both sides).

`from talkbalance.fw import config` gives the firmware's own tbfw.config,
imported from the firmware folder that ships with this package.
"""

from __future__ import annotations

import sys
import types

from talkbalance import paths

_root = str(paths.firmware_dir())
if _root not in sys.path:
    sys.path.append(_root)

try:
    import micropython  # noqa: F401  (only under a MicroPython-compatible runtime)
except ImportError:
    # Plain-Python firmware modules (config, talker, tally, session, wire) use
    # micropython.const; under CPython it is the identity.
    _shim = types.ModuleType("micropython")
    _shim.const = lambda value: value  # type: ignore[attr-defined]
    sys.modules["micropython"] = _shim

from tbfw import config, tally, wire  # noqa: E402

__all__ = ["config", "tally", "wire"]
