"""Every firmware module compiles for the ESP32 (mpy-cross -march=xtensawin)."""

from __future__ import annotations

import subprocess

import pytest
from talkbalance import paths

FIRMWARE = paths.firmware_files()


@pytest.mark.parametrize("source", FIRMWARE, ids=[p.name for p in FIRMWARE])
def test_compiles_for_xtensawin(source, tmp_path):
    proc = subprocess.run(
        paths.mpy_cross() + ["-march=xtensawin", "-o", str(tmp_path / "out.mpy"), str(source)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.mpy").stat().st_size > 0


def test_gate_covers_every_firmware_file():
    on_disk = sorted(p.name for p in paths.firmware_dir().rglob("*.py"))
    assert sorted(p.name for p in FIRMWARE) == on_disk
