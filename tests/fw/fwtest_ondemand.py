# Code loaded on demand (tbfw.ondemand): on MicroPython a module in PARTS is
# gone from sys.modules and from the package once its last user is done,
# whether the call returned or raised; uses nest; a module outside PARTS is
# refused. And the app leaves none of them loaded after booting, saving a
# session, changing a setting or logging its boot.
import os
import sys

import tbfw
from fwlib import scratch_dir
from hostile import MemBoard
from tbfw import app, ondemand


def _loaded():
    return [name for name in ondemand.PARTS if "tbfw." + name in sys.modules or hasattr(tbfw, name)]


def test_a_call_loads_the_module_for_the_call_only():
    assert "tbfw.configset" not in sys.modules
    assert ondemand.call("configset", "_merged", {"a": 1}, {"b": 2}) == {"a": 1, "b": 2}
    assert _loaded() == []


def test_a_call_that_raises_still_releases():
    try:
        ondemand.call("configset", "_merged", None, {})
    except TypeError:
        pass
    else:
        raise AssertionError("no TypeError")
    assert _loaded() == []


def test_uses_nest_and_the_last_one_releases():
    with ondemand.loaded("configset") as module:
        assert sys.modules["tbfw.configset"] is module
        assert ondemand.call("configset", "_merged", {}, {"k": 0}) == {"k": 0}
        assert sys.modules.get("tbfw.configset") is module  # still held by the block
    assert _loaded() == []


def test_only_the_listed_modules():
    try:
        ondemand.call("link", "Link")
    except ValueError as exc:
        assert "tbfw.link" in str(exc)
    else:
        raise AssertionError("tbfw.link loaded on demand")


def test_the_app_leaves_none_loaded():
    root = scratch_dir() + "/ondemand"
    os.mkdir(root)
    dev = app.App(MemBoard(root))  # the board file, the config, the boot counter, the store's scan
    assert dev.boot == 1 and _loaded() == []
    dev.log_boot()
    dev.answers.session("start")
    for _ in range(100):
        dev.step()
    dev.answers.session("stop")  # the record written
    assert len(dev.answers.records()) == 1 and _loaded() == []
    answer = dev.answers.config_set({"meeting_min": 50})
    assert answer["applies"] == {"meeting_min": "next_session"} and _loaded() == []
    assert dev.conv.record()["session"] == 1 and _loaded() == []
