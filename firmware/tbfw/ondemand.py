# Code loaded on demand: what the device needs only at boot or for a rare
# request lives in a module of its own, imported for the call and released
# after it, so that its bytecode does not stay in the heap for the whole
# session (docs/memory.md, "Loaded on demand"). The names such a module
# defines stay in the interpreter's name table; everything else goes.
#
# Only the modules in PARTS are loaded this way, and only through call():
#   boardfile  the board file's rules (tbfw.config.validate_board), at boot
#   startup    the user config read leniently, the data folder, the boot
#              counter (App), at boot
#   storescan  the store's recovery scan and drop counters (Store), at boot
#   bootlog    the boot's log lines (App.log_boot), when the loop starts
#   configset  a change of the user config (the config-set request)
# A module with viper or native code is never one of them: on the ESP32
# each import would take new native code memory (tbfw.selftest is loaded on
# first use and kept).

import gc
import sys

PARTS = ("boardfile", "startup", "storescan", "bootlog", "configset")


def call(name, func, *args):
    """tbfw.<name>.<func>(*args), with the module imported for the call
    and released after it, whatever the call does."""
    if name not in PARTS:
        raise ValueError("tbfw.%s is not loaded on demand" % name)
    module = __import__("tbfw." + name, None, None, (func,))
    try:
        return getattr(module, func)(*args)
    finally:
        release(name)


def release(name):
    """Drop tbfw.<name> and collect. MicroPython only: under CPython (the
    host tool and its tests) a module stays imported, as usual there."""
    if sys.implementation.name != "micropython":
        return
    sys.modules.pop("tbfw." + name, None)
    package = sys.modules.get("tbfw")
    if package is not None and hasattr(package, name):
        delattr(package, name)
    gc.collect()
