"""The firmware modules that the host shares (one implementation on both sides).

`from talkbalance.fw import config` gives the firmware's own tbfw.config,
imported from the firmware folder that ships with this package.
"""

from __future__ import annotations

import sys

from talkbalance import paths

_root = str(paths.firmware_dir())
if _root not in sys.path:
    sys.path.append(_root)

from tbfw import config  # noqa: E402

__all__ = ["config"]
