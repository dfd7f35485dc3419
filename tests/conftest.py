"""Test tiers: host tests (plain pytest), firmware tests run inside the
MicroPython unix port (tests/fw/fwtest_*.py, one pytest item per test
function), and `device` tests that need a real board given with --port."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fwharness  # noqa: E402


@pytest.fixture(autouse=True)
def _own_sim_registry(tmp_path_factory, monkeypatch):
    """Tests see only the simulated devices they start themselves."""
    monkeypatch.setenv("TALKBALANCE_SIM_DIR", str(tmp_path_factory.mktemp("sims")))


@pytest.fixture(scope="module")
def desc():
    """The project's board file, validated (the firmware's own rules)."""
    from talkbalance import paths
    from talkbalance.fw import config

    return config.load_board(str(paths.board_path()))


@pytest.fixture(scope="module")
def cfg():
    """The default user config."""
    from talkbalance.fw import config

    return config.merge_user({})


def pytest_addoption(parser):
    parser.addoption("--port", default=None, help="serial port of a real talkbalance board (device tests)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--port"):
        return
    skip = pytest.mark.skip(reason="needs a real board: pass --port PORT")
    for item in items:
        if "device" in item.keywords:
            item.add_marker(skip)


def _is_firmware_test(path):
    return path.suffix == ".py" and path.name.startswith("fwtest_")


def pytest_collect_file(parent, file_path):
    # A file named on the command line goes through the python plugin, which
    # asks pytest_pycollect_makemodule below; don't collect it twice.
    if _is_firmware_test(file_path) and not parent.session.isinitpath(file_path):
        return FirmwareModule.from_parent(parent, path=file_path)
    return None


def pytest_pycollect_makemodule(module_path, parent):
    if _is_firmware_test(module_path):
        return FirmwareModule.from_parent(parent, path=module_path)
    return None


class FirmwareModule(pytest.File):
    """A firmware test module; its tests run together in one MicroPython process."""

    _run = None

    def collect(self):
        for name in fwharness.test_names(self.path):
            yield FirmwareTest.from_parent(self, name=name)

    def results(self):
        if self._run is None:
            self._run = fwharness.run_module(self.path)
        return self._run


class FirmwareFailure(Exception):
    pass


class FirmwareTest(pytest.Item):
    def runtest(self):
        run = self.parent.results()
        if self.name not in run.results:
            raise FirmwareFailure(
                f"{self.name} did not report (micropython exit {run.returncode}):\n{run.output[-3000:]}"
            )
        ok, detail = run.results[self.name]
        if not ok:
            raise FirmwareFailure(detail)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, FirmwareFailure):
            return f"firmware test {self.name} failed under MicroPython:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"[micropython] {self.name}"
