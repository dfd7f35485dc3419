"""The plain ESP32's heap, measured on a 32-bit MicroPython.

A whole session (boot, 12 s of two talkers with `info` asked every second,
then stop, list, get and ack as a sync does) runs on MicroPython's
webassembly port, a 32-bit build (4-byte words, 16-byte GC blocks, as on the
ESP32), with the firmware as the .mpy bytecode `deploy` installs. That port
collects garbage only between the driver's steps (one step per frame), and
grows its heap where a fixed heap would raise MemoryError: the driver reports
any growth, and the test fails on it.

The heap is 112,000 bytes (a plain ESP32's, about 112 KB) plus three
allowances, each measured here on the same port before the session, for
what is in this heap and not in the ESP32's:
- the driver (mp/bench/mp_memory.py), which stands in for main.py;
- the bytecode of the viper and native functions, which this port runs as
  bytecode in its heap and the ESP32 keeps in IRAM as machine code: the
  firmware's import cost less that of a copy whose viper and native bodies
  are `return 0` (every name interned first, each import weighed with the
  collector off), and the runtime that runs that bytecode;
- the port's stand-ins for os, io, time and binascii (built in on the ESP32).
Nothing else is allowed for, although this port is the stricter of the two:
the ESP32 collects inside a frame when it must, and its viper code makes no
garbage where the bytecode stand-in does (docs/memory.md).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest
from talkbalance import bench, devicesim, paths
from talkbalance.bench import heap32

ESP32_HEAP = heap32.ESP32_HEAP  # bytes: a plain ESP32's heap after it has grown (112,000)
SECONDS = heap32.SECONDS

# CI sets TALKBALANCE_REQUIRE_WASM32: there a missing port fails instead of skipping.
pytestmark = pytest.mark.skipif(heap32.available() is not None and not os.environ.get("TALKBALANCE_REQUIRE_WASM32"),
                                reason=str(heap32.available()))


def _rows(proc) -> dict[str, int]:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return heap32.readings(proc)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    return heap32.build_trees(tmp_path_factory.mktemp("heap32"), SECONDS)


@pytest.fixture(scope="module")
def allowances(trees):
    return heap32.measure_allowances(*trees)


def test_the_allowances_are_what_they_claim(allowances):
    # the driver: its code, a 6 KB buffer for the sync's answers, little else
    assert 6144 < allowances.driver < 16 * 1024, allowances
    # the viper kernels are most of it; the runtime that runs them as bytecode is small
    assert allowances.per_module["import_dsp_bytes"] > 3000, allowances
    assert allowances.native_code > 4096, allowances
    assert allowances.native_code < 12 * 1024, allowances
    assert 0 < allowances.runtime < 1024, allowances
    assert 0 < allowances.port_modules < 2048, allowances


def _native_functions(firmware) -> int:
    return sum(text.count("@micropython.viper") + text.count("@micropython.native")
               for text in (module.read_text() for module in (firmware / "tbfw").glob("*.py")
                            if module.stem not in heap32.BOARD_ONLY))


def test_the_allowance_for_native_code_is_the_bodies_the_mpy_files_hold(trees, allowances):
    """Checked against the files: what the compiled bodies take in the .mpy
    files (the firmware's less the stubbed copy's, less the names only the
    bodies use, which the ESP32 holds as well) is what they take in the heap,
    give or take each function's rounding to a 16-byte block and the module's
    two bytes of names table for each of those names."""
    full, stub = trees
    file_bytes = only_names = 0
    for mpy in sorted((full / "lib" / "tbfw").glob("*.mpy")):
        code, stubbed = mpy.read_bytes(), (stub / "lib" / "tbfw" / mpy.name).read_bytes()
        names = set(heap32.mpy_names(code)) - set(heap32.mpy_names(stubbed))
        assert not set(heap32.mpy_names(stubbed)) - set(heap32.mpy_names(code)), mpy.name
        file_bytes += len(code) - len(stubbed) - sum(len(name) + 2 for name in names)
        only_names += len(names)
    heap = allowances.native_code - allowances.runtime
    slack = 16 * _native_functions(paths.firmware_dir()) + 2 * only_names
    assert file_bytes > 4096, file_bytes
    assert file_bytes - 16 <= heap <= file_bytes + slack, (heap, file_bytes, slack)


def test_code_with_no_native_part_leaves_the_allowance_where_it_was(tmp_path, monkeypatch, allowances):
    """The allowance is a difference of two imports; names interned first and
    the collector off while they load keep it to the code alone: a module
    with no viper or native function, given a function of new names, moves
    neither the allowance nor any module's part of it."""
    firmware = tmp_path / "firmware"
    shutil.copytree(paths.firmware_dir() / "tbfw", firmware / "tbfw")
    wire = firmware / "tbfw" / "wire.py"
    assert "@micropython" not in wire.read_text()
    wire.write_text(wire.read_text() + "\n\ndef _names():\n    return (" +
                    "".join(f"name_{i}_only_here, " for i in range(30)) + ")\n")
    monkeypatch.setattr(paths, "firmware_dir", lambda: firmware)
    moved = heap32.measure_allowances(*heap32.build_trees(tmp_path / "trees", 2))
    assert moved.native_code == allowances.native_code, (moved, allowances)
    assert moved.per_module == allowances.per_module and moved.runtime == allowances.runtime


@pytest.fixture(scope="module")
def session32(trees, allowances):
    """The whole session on the 32-bit port, in the ESP32's heap plus the allowances."""
    full, _stub = trees
    usable = ESP32_HEAP + allowances.total
    proc = heap32.run_session(full, str(heap32.raw_heap(usable)), SECONDS)
    return usable, proc


def test_whole_session_in_the_esp32_heap_on_32_bit_micropython(session32, allowances):
    usable, proc = session32
    rows = _rows(proc)
    # the heap it ran in: the usable bytes asked for, not more
    total = rows["heap_total_bytes"] - heap32.PORT_RESERVE  # the port adds its reserve for new areas
    assert usable <= total < usable + 256, (usable, total)
    # the whole session happened and the sync read the record back
    assert rows["session_records"] == 1 and rows["session_record_bytes"] > 500, proc.stdout
    # and it never needed more heap: not while booting, not in any frame
    assert rows["heap_grew_in_boot_step"] == 0, proc.stdout
    assert rows["heap_back_for_frames"] == 1, proc.stdout
    assert rows["heap_grew_at_step"] == 0, proc.stdout
    # the largest heap in use at any moment, less the allowances (no fragmentation)
    in_use = rows["session_peak_heap_all_bytes"] - allowances.total
    assert in_use < ESP32_HEAP, (in_use, allowances)
    # the boot's App(board) step, the tightest: all it kept and dropped, less the allowances
    boot_in_use = rows["app_step_heap_all_bytes"] - allowances.total
    assert boot_in_use < ESP32_HEAP, (boot_in_use, allowances)
    print(f"heap32: usable {total} = {ESP32_HEAP} + driver {allowances.driver} + viper/native code "
          f"{allowances.native_code} + port modules {allowances.port_modules}; largest in use less "
          f"those {in_use}; boot's App(board) step {boot_in_use}")


def _record(stdout: str) -> dict:
    parts = sorted((int(off), base64.b64decode(data)) for tag, off, data in
                   (line.split() for line in stdout.splitlines() if line.startswith("@@PART ")))
    return json.loads(b"".join(data for _off, data in parts))


def test_the_32_bit_bytecode_gives_the_record_the_unix_port_gives(trees, session32, tmp_path):
    """The viper functions rewritten as bytecode (and the port's modules)
    compute what the real viper code computes: the same session gives the
    same record on both ports, down to the last field the clock does not set."""
    full, _stub = trees
    args = [str(SECONDS), "session"]
    on32 = session32[1]
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash, compiled=True)
    on64 = subprocess.run(paths.micropython() + [str(bench.HERE / "mp_memory.py"), str(flash / "lib"),
                                                 str(flash / "board.json"), str(full / "talk.wav")] + args,
                          capture_output=True, text=True, timeout=300)
    assert on32.returncode == 0 and on64.returncode == 0, on32.stderr[-2000:] + on64.stderr[-2000:]
    rec32, rec64 = _record(on32.stdout), _record(on64.stdout)
    clock_set = ("id", "device", "start")
    assert {k: v for k, v in rec32.items() if k not in clock_set} == \
        {k: v for k, v in rec64.items() if k not in clock_set}
    # and it is the conversation in the recording: talkers at 40 and 220 degrees
    assert rec32["end_reason"] == "stopped" and rec32["duration_s"] > SECONDS - 2 * bench.TURN_S
    azimuths = sorted(t["azimuth_deg"] for t in rec32["talkers"])
    assert abs(azimuths[0] - 40) < 15 and abs(azimuths[1] - 220) < 15, rec32["talkers"]
