# Code loaded on demand (tbfw.ondemand): on MicroPython a module in PARTS is
# gone from sys.modules and from the package once its last user is done,
# whether the call returned or raised; uses nest; a module outside PARTS is
# refused. And the app leaves none of them loaded after booting, saving a
# session, changing a setting or logging its boot; the store's scan comes
# after App(board), the boot's fullest step.
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


def test_the_store_is_scanned_after_the_boot_step_and_the_boot_logged_once():
    root = scratch_dir() + "/scanlater"
    os.mkdir(root)
    os.mkdir(root + "/data")
    with open(root + "/data/sessions", "w") as f:  # a file where the store's folder goes
        f.write("not a folder")
    dev = app.App(MemBoard(root))
    # App(board) made the store and did not scan it: nothing listed, no note yet
    assert dev.store_report is None and dev.store.last_scan is None and _loaded() == []
    assert not [p for p in dev.problems if "not a directory" in p], dev.problems
    dev.step()  # the first frame, with no run() before it: the scan, then the boot's log
    assert dev.store_report is not None and _loaded() == []
    assert [p for p in dev.problems if "not a directory" in p], dev.problems
    assert [t for t in dev.board.logs if t.startswith("warn-boot") and "not a directory" in t], dev.board.logs
    for _ in range(5):
        dev.step()
    assert len([t for t in dev.board.logs if t.startswith("talkbalance ")]) == 1, dev.board.logs
    dev.answers.session("start")
    for _ in range(50):
        dev.step()
    dev.answers.session("stop")  # the scanned store saves
    assert len(dev.answers.records()) == 1 and dev.saved == 1
