"""The firmware modules that the host shares (one implementation on both sides).

`from talkbalance.fw import config, ring` gives the firmware's own
tbfw.config and tbfw.ring, imported from the firmware folder that ships with
this package: any tbfw module is reached this way, and only this module puts
the firmware on sys.path.

Under CPython it also installs the one stand-in for MicroPython's
`micropython` module that the firmware imports: `const` is the identity, and
`viper` and `native` leave a function as it is. Viper code names its pointer
types as builtins; `ptr8` over a bytearray indexes as the bytearray itself,
so it is installed as the identity (the ring's byte loops run as they are),
while the wider pointers are left out: talkbalance.viper32 runs the DSP
kernels that use them with the ESP32's 32-bit semantics. Firmware modules
just `import micropython` / `from micropython import const`, as on the device.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import types

from talkbalance import paths

_root = str(paths.firmware_dir())
if _root not in sys.path:
    sys.path.append(_root)

try:
    import micropython  # noqa: F401  (only under a MicroPython-compatible runtime)
except ImportError:
    _stand_in = types.ModuleType("micropython", "CPython's stand-in (talkbalance.fw)")
    _stand_in.const = lambda value: value  # type: ignore[attr-defined]
    _stand_in.viper = lambda func: func  # type: ignore[attr-defined]
    _stand_in.native = lambda func: func  # type: ignore[attr-defined]
    sys.modules["micropython"] = _stand_in
    if not hasattr(builtins, "ptr8"):
        builtins.ptr8 = lambda buf: buf  # type: ignore[attr-defined]


def __getattr__(name: str) -> types.ModuleType:
    """`talkbalance.fw.NAME` is the firmware's tbfw.NAME, imported on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"tbfw.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"tbfw.{name}":
            raise AttributeError(f"the firmware has no module tbfw.{name}") from None
        raise
