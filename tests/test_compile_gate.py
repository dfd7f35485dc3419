"""Every firmware module compiles for the ESP32 (mpy-cross -march=xtensawin);
the benchmarks' MicroPython scripts compile for the ESP32 and for a 32-bit
unix port (x86), where viper's small ints are 31 bits."""

from __future__ import annotations

import subprocess

import pytest
from talkbalance import bench, paths

FIRMWARE = paths.firmware_files()
BENCH_MP = sorted(bench.HERE.glob("*.py"))


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


@pytest.mark.parametrize("arch", ["xtensawin", "x86"])
@pytest.mark.parametrize("source", BENCH_MP, ids=[p.name for p in BENCH_MP])
def test_bench_scripts_compile_for_32_bit_targets(source, arch, tmp_path):
    proc = subprocess.run(
        paths.mpy_cross() + [f"-march={arch}", "-o", str(tmp_path / "out.mpy"), str(source)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_bench_gate_finds_the_scripts():
    assert {"mp_memory.py", "mpmem_synth.py", "mp_frontend.py"} <= {p.name for p in BENCH_MP}
