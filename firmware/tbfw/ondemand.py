# Code loaded on demand: what the device needs only at boot or for a rare
# request lives in a module of its own, imported for the call and released
# after it, so that its bytecode does not stay in the heap for the whole
# session (docs/memory.md, "Loaded on demand"). The names such a module
# defines stay in the interpreter's name table; everything else goes.
#
# Only the modules in PARTS are loaded this way, and only through call()
# (one call) or loaded() (a `with` block, for several calls):
#   boardfile      the board file's rules (tbfw.config.validate_board), at boot
#   startup        the user config read leniently, the data folder, the boot
#                  counter, and the app built (App.__init__), at boot
#   storescan      the store's recovery scan and drop counters (Store.scan),
#                  from bootlog
#   frontsetup     the front end's buffers, tables and geometry (FrontEnd), at boot
#   bootlog        the store's scan and the boot's log lines (App.log_boot), when
#                  the loop starts or in the first frame: after App(board)
#   configset      a change of the user config (the config-set request)
#   sessionrecord  the session record (Conversation.record, write_record),
#                  when a session is saved
# A module in use is released when its last user is done (calls nest). A
# module with viper or native code is never one of them: on the ESP32 each
# import would take new native code memory (tbfw.selftest is loaded on
# first use and kept).

import gc
import sys

PARTS = ("boardfile", "startup", "storescan", "frontsetup", "bootlog", "configset", "sessionrecord")

_users = {}  # module name -> calls and blocks using it now


def call(name, func, *args):
    """tbfw.<name>.<func>(*args), with the module imported for the call
    and released after it, whatever the call does."""
    module = _load(name)
    try:
        return getattr(module, func)(*args)
    finally:
        _release(name)


class loaded:
    """`with ondemand.loaded(name) as module:` tbfw.<name> for the block,
    released after it; call() inside the block uses the same import."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return _load(self.name)

    def __exit__(self, *exc):
        _release(self.name)
        return False


def _load(name):
    if name not in PARTS:
        raise ValueError("tbfw.%s is not loaded on demand" % name)
    _users[name] = _users.get(name, 0) + 1
    try:
        __import__("tbfw." + name)
        return sys.modules["tbfw." + name]
    except BaseException:
        _release(name)
        raise


def _release(name):
    """One user of tbfw.<name> is done; the last drops it and collects.
    MicroPython only: under CPython (the host tool and its tests) a module
    stays imported, as usual there."""
    users = _users.get(name, 0) - 1
    if users > 0:
        _users[name] = users
        return
    _users.pop(name, None)
    if sys.implementation.name != "micropython":
        return
    sys.modules.pop("tbfw." + name, None)
    package = sys.modules.get("tbfw")
    if package is not None and hasattr(package, name):
        delattr(package, name)
    gc.collect()
