"""The firmware's heap budget end to end: a whole session on the simulated
device, firmware compiled to .mpy as deployed, under a fixed MicroPython heap.

On the x64 unix port (8-byte words): HEAPSIZE is 4 KB above the smallest
heap, in steps of 4 KB, that ran the session here (172 KB), for the
timing-dependent part of fragmentation. The ESP32's heap is measured on a
32-bit MicroPython in tests/test_heap32.py (docs/memory.md).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from talkbalance import bench, devicesim, paths
from talkbalance.device import Device
from talkbalance.errors import LinkError

HEAPSIZE = "176k"  # docs/memory.md: 172k is the smallest that passed here (x64, 8-byte words)
SECONDS = 24
TURN_S = bench.TURN_S


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return bench.turns_wav(tmp_path_factory.mktemp("heap") / "talk.wav", SECONDS)


def test_whole_session_runs_in_the_heap_budget(tmp_path, recording):
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash, compiled=True)
    assert (flash / "lib" / "tbfw" / "app.mpy").is_file()
    log = tmp_path / "device.log"
    with devicesim.SimDevice(flash, audio=recording, speed=0, heapsize=HEAPSIZE, log=log) as dev:
        with Device.connect(dev.port, timeout=5.0) as link:
            end = time.monotonic() + 120
            while True:
                info = link.call("info")
                if info["frames"] >= SECONDS * 50 or time.monotonic() > end:
                    break
                time.sleep(0.2)
            assert info["frames"] >= SECONDS * 50, info
            assert info["state"] == "session", info
            stopped = link.call("session", {"action": "stop"})
            assert stopped["saved"] == 1 and stopped["state"] == "idle", stopped
            records = link.list_records()
            assert len(records) == 1 and not records[0]["synced"], records
            rec = json.loads(link.get_record(records[0]["id"]))
            assert link.ack([records[0]["id"]])["acked"] == [records[0]["id"]]
            assert link.call("info")["counters"]["unsynced"] == 0
        assert dev.running
    text = log.read_text()
    assert "MemoryError" not in text and "error-session-save" not in text, text
    assert rec["end_reason"] == "stopped" and rec["duration_s"] > SECONDS - 2 * TURN_S
    ini, par = rec["talkers"]
    assert {ini["role"], par["role"]} == {"initiator", "partner"}
    azimuths = sorted(t["azimuth_deg"] for t in rec["talkers"])
    assert abs(azimuths[0] - 40) < 15 and abs(azimuths[1] - 220) < 15, rec["talkers"]
    assert ini["share"] + par["share"] == pytest.approx(1.0, abs=0.02)


def test_a_heap_far_too_small_is_refused_plainly(tmp_path, recording):
    """The heap limit is real: in 64 KB the firmware cannot even start."""
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash, compiled=True)
    with devicesim.SimDevice(flash, audio=recording, speed=0, heapsize="64k") as dev:
        with pytest.raises(LinkError):
            Device.connect(dev.port, timeout=2.0, retries=0).hello()


def test_board_rules_leave_the_heap_after_boot():
    fw, board_file = str(paths.firmware_dir()), str(paths.board_path())
    code = (f"import sys; sys.path.insert(0, {fw!r})\n"
            "from tbfw import config\n"
            f"desc = config.load_board({board_file!r})\n"
            "import tbfw\n"
            "print(desc['channels'], 'tbfw.boardfile' in sys.modules, hasattr(tbfw, 'boardfile'))\n")
    out = subprocess.run(paths.micropython() + ["-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["4", "False", "False"], out.stdout + out.stderr


def test_memory_benchmark_on_the_compiled_firmware(tmp_path):
    flash = tmp_path / "flash"
    devicesim.install_firmware(flash, compiled=True)
    cmd = paths.micropython() + [str(bench.HERE / "mp_memory.py"), str(flash / "lib"), str(flash / "board.json"),
                                 "-", "30"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {r.metric: r for r in bench.parse(out.stdout)}
    assert rows["session_records"].value == 1
    assert rows["import_heap_bytes"].value > rows["app_heap_bytes"].value > rows["board_heap_bytes"].value > 0
    # a session grows the live heap (tally, link), and a frame's allocations come on top
    steady = rows["steady_heap_bytes"].value
    assert steady < rows["session_peak_live_bytes"].value <= rows["session_peak_heap_bytes"].value
    # The peak in use stays under the heap the session test runs in.
    assert rows["session_peak_heap_bytes"].value < int(HEAPSIZE[:-1]) * 1024
    modules = [r for r in rows if r.startswith("import_") and r != "import_heap_bytes"]
    assert "import_boardfile_bytes" not in rows and len(modules) >= 14
