"""The test harness tests itself: failures are reported, bad viper is rejected,
and the MicroPython used is the project's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fwharness
import pytest
from talkbalance import paths

FIXTURES = Path(__file__).parent / "fixtures"


def test_failing_firmware_test_is_reported_as_failure():
    run = fwharness.run_module(FIXTURES / "fw_failing.py")
    assert run.results["test_passes"] == (True, "")
    ok, detail = run.results["test_fails_assert"]
    assert not ok and "arithmetic is broken" in detail
    ok, detail = run.results["test_fails_raise"]
    assert not ok and "ValueError" in detail and "deliberate" in detail
    assert "@@TB DONE 1 2" in run.output


def test_collector_finds_each_test_function():
    assert fwharness.test_names(FIXTURES / "fw_failing.py") == [
        "test_passes", "test_fails_assert", "test_fails_raise"]


def test_viper_type_error_is_rejected_by_compile_gate(tmp_path):
    proc = subprocess.run(
        paths.mpy_cross() + ["-march=xtensawin", "-o", str(tmp_path / "x.mpy"), str(FIXTURES / "viper_type_error.py")],
        capture_output=True, text=True)
    assert proc.returncode != 0
    assert "ViperTypeError" in proc.stderr + proc.stdout


def test_micropython_is_the_project_installed_one(monkeypatch):
    monkeypatch.delenv(paths.MICROPYTHON_ENV, raising=False)
    cmd = paths.micropython()
    assert Path(cmd[0]).parent == Path(sys.executable).parent
    out = subprocess.run(cmd + ["-c", "import sys; print(sys.implementation.name)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "micropython"


def test_micropython_override_by_environment(monkeypatch, tmp_path):
    fake = tmp_path / "my-micropython"
    monkeypatch.setenv(paths.MICROPYTHON_ENV, str(fake))
    assert paths.micropython() == [str(fake)]


def test_heap_limit_is_applied(tmp_path):
    mod = tmp_path / "fwtest_heap.py"
    mod.write_text("# fw: heapsize=32k\nimport gc\n\ndef test_heap():\n"
                   "    gc.collect()\n    assert gc.mem_free() + gc.mem_alloc() <= 32 * 1024\n")
    run = fwharness.run_module(mod)
    assert run.results == {"test_heap": (True, "")}


@pytest.mark.skipif(not os.environ.get(paths.MICROPYTHON_ENV), reason="no override set")
def test_override_is_used_by_harness():
    assert paths.micropython() == [os.environ[paths.MICROPYTHON_ENV]]
