"""Static check of the firmware against the ESP32 API (micropython-esp32-stubs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from talkbalance import paths


def _pyright():
    tool = Path(sys.executable).parent / "pyright"
    return str(tool) if tool.exists() else shutil.which("pyright")


@pytest.mark.skipif(_pyright() is None, reason="pyright not installed (pip install -e .[dev])")
def test_firmware_type_checks_against_esp32_stubs():
    fw = paths.firmware_dir()
    proc = subprocess.run([_pyright(), "--pythonpath", sys.executable, "-p", str(fw / "pyrightconfig.json"), str(fw)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
