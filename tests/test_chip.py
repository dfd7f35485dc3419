"""`talkbalance bench --only chip`: the .mpy reader, the loop finder, the
counters and the command's output.

The reader and the counters need only mpy-cross and the MicroPython unix
port; disassembly needs xtensa-lx106-elf-objdump (Debian's
binutils-xtensa-lx106, scripts/setup), without which those tests skip.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from talkbalance import mpyfile, paths
from talkbalance.bench import chip
from talkbalance.cli import main

# CI sets TALKBALANCE_REQUIRE_TOOLS: there a missing disassembler fails instead of skipping.
needs_objdump = pytest.mark.skipif(shutil.which(chip.OBJDUMP) is None and not os.environ.get("TALKBALANCE_REQUIRE_TOOLS"),
                                   reason=f"{chip.OBJDUMP} missing: apt-get install binutils-xtensa-lx106")

FIXTURE = '''\
import micropython

NAMES = ("a", b"b", 12345678901234567890, 1.5, (1, "x", (2.5, None)), ..., True)


@micropython.viper
def one_loop(buf, n: int) -> int:
    p = ptr16(buf)
    s = 0
    for i in range(n):
        s += int(p[i])
    return s


@micropython.viper
def straight(a: int, b: int) -> int:
    return (a + b) * 3


@micropython.viper
def nested(n: int, m: int) -> int:
    s = 0
    k = 0
    while k < n or k < m:
        for i in range(m):
            s += i
        k += 1
    return s


class Box:
    def method(self, x):
        return [y * 2 for y in x]


def plain(x, f=lambda v: v + 1):
    return f(x)
'''


def _compile(tmp: Path, text: str = FIXTURE) -> tuple[bytes, Path]:
    src = tmp / "fixture.py"
    src.write_text(text)
    return chip.compile_xtensawin(src, tmp), src


def test_reader_finds_the_functions_and_their_code(tmp_path):
    data, src = _compile(tmp_path)
    mpy = mpyfile.read(data)
    assert (mpy.version, mpy.arch) == (6, "xtensawin")
    found = {f.name: f for f in mpyfile.named_functions(mpy, src.read_text())}
    assert set(found) == {"one_loop", "straight", "nested", "Box.method", "plain"}
    for name in ("one_loop", "straight", "nested"):
        assert found[name].kind == mpyfile.KIND_VIPER and len(found[name].code) > 16
    assert found["plain"].kind == mpyfile.KIND_BYTECODE
    assert found["one_loop"].code != found["straight"].code


def test_reader_refuses_a_source_that_does_not_match(tmp_path):
    data, _ = _compile(tmp_path)
    other = FIXTURE.replace("@micropython.viper\ndef straight", "def straight")
    with pytest.raises(mpyfile.MpyError, match="straight"):
        mpyfile.named_functions(mpyfile.read(data), other)


def test_reader_reads_the_firmware_modules(tmp_path):
    for _module, path in chip.firmware_modules(paths.firmware_dir()):
        mpy = mpyfile.read(chip.compile_xtensawin(path, tmp_path))
        vipers = [f for f in mpyfile.named_functions(mpy, path.read_text()) if f.kind == mpyfile.KIND_VIPER]
        assert len(vipers) == path.read_text().count("@micropython.viper")


_FIXTURE_MPY: list[bytes] = []


def _fixture_mpy() -> bytes:
    if not _FIXTURE_MPY:
        with tempfile.TemporaryDirectory() as td:
            _FIXTURE_MPY.append(_compile(Path(td))[0])
    return _FIXTURE_MPY[0]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_reader_on_damaged_files_raises_only_its_error(data):
    good = bytearray(_fixture_mpy())
    cut = data.draw(st.integers(0, len(good)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)), max_size=4))
    bad = good[:cut]
    for pos, value in flips:
        if pos < len(bad):
            bad[pos] = value
    try:
        mpy = mpyfile.read(bytes(bad))
    except mpyfile.MpyError:
        return
    # what reads at all reads whole: the header's figures and every raw code's kind are known ones
    assert mpy.version == mpyfile.MPY_VERSION and mpy.arch in mpyfile.ARCHS.values()
    stack = [mpy.root]
    while stack:
        rc = stack.pop()
        assert rc.kind in mpyfile.KIND_NAMES
        stack += rc.children


@needs_objdump
def test_loops_found_in_the_machine_code(tmp_path):
    data, src = _compile(tmp_path)
    found = {f.name: f for f in mpyfile.named_functions(mpyfile.read(data), src.read_text())}
    one = chip.loops(chip.disassemble(found["one_loop"].code, tmp_path))
    assert len(one) == 1
    assert chip.loops(chip.disassemble(found["straight"].code, tmp_path)) == []
    # `while a or b` branches back twice to one place: one loop, holding the for loop
    (outer, inner) = chip.loops(chip.disassemble(found["nested"].code, tmp_path))
    assert outer[0] < inner[0] <= inner[1] < outer[1]
    insns = chip.disassemble(found["nested"].code, tmp_path)
    parts = chip.count_parts(insns, [outer, inner])
    assert sum(n for n, _ in parts) == len(insns)
    assert all(ls <= n for n, ls in parts)
    assert parts[2][0] > 0 and parts[2][1] > 0  # the inner loop keeps its locals on the stack


@needs_objdump
def test_viper_functions_pair_source_loops_with_machine_loops(tmp_path):
    _, src = _compile(tmp_path)
    found = {f.name: f for f, _ in chip.viper_functions("fixture", src, tmp_path)}
    assert [p.label for p in found["one_loop"].parts] == ["outside loops", "loop 1 (line 10)"]
    assert [p.label for p in found["straight"].parts] == ["outside loops"]
    assert len(found["nested"].parts) == 3


def test_counters_count_calls_and_iterations_on_the_unix_port(tmp_path):
    """The counted copy of a module runs on MicroPython; its counters agree
    with the iterations the arguments imply."""
    mpy = mpyfile.read(_fixture_mpy())
    funcs = [f for f in mpyfile.named_functions(mpy, FIXTURE) if f.kind == mpyfile.KIND_VIPER]
    text, used = chip.instrument(FIXTURE, funcs, 0)
    assert used == 2 + 1 + 3  # one_loop: call + loop; straight: call; nested: call + 2 loops
    ast.parse(text)
    (tmp_path / "counted.py").write_text(f"{chip.COUNTER} = bytearray({4 * used})\n" + text)
    prog = (f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport counted, array\n"
            "b = array.array('h', range(10))\n"
            "assert counted.one_loop(b, 7) == 21 and counted.one_loop(b, 3) == 3\n"
            "assert counted.straight(1, 2) == 9\n"
            "assert counted.nested(2, 4) == 24  # the outer loop runs while k < 4\n"
            "print(counted._TBC.hex())\n")
    proc = subprocess.run(paths.micropython() + ["-c", prog], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    raw = bytes.fromhex(proc.stdout.strip())
    words = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    assert words == [2, 10, 1, 1, 4, 16]


@needs_objdump
def test_session_counts_match_the_frame_size():
    """Over a whole pipeline pass, each ingest call runs its loop (in
    _ingest_pair) once per two sample pairs of a frame (16 kHz, 20 ms: 320
    pairs); each prep call covers the frame's 320 samples too: the first
    itself, then _emph four a step and the rest one a step."""
    functions, audio_s = chip.run_counts(None)
    by = {f.qualname: f for f in functions}
    assert audio_s > 0
    calls, loop = by["tbfw.dsp._ingest_pair"].parts[0].runs, by["tbfw.dsp._ingest_pair"].parts[1].runs
    assert calls > 0 and 2 * loop == 320 * calls and by["tbfw.dsp.ingest_bus"].parts[0].runs == calls
    calls = by["tbfw.dsp.prep"].parts[0].runs
    emph = by["tbfw.dsp._emph"].parts
    assert calls > 0 and emph[0].runs == calls
    assert calls + 4 * emph[1].runs + emph[2].runs == 320 * calls and emph[2].runs == 3 * calls
    assert by["tbfw.dsp.ingest_bus"].parts[0].runs == 2 * 50 * audio_s  # two buses, 50 frames a second
    total = sum(chip.per_audio_s(f, audio_s) for f in chip.device_functions(functions))
    rows = {r.metric: r.value for r in chip.rows(functions, audio_s)}
    assert rows["viper_minstr_per_audio_s"] == round(total / 1e6, 2)
    assert rows["core_pct_240mhz_cpi_1_5"] == pytest.approx(1.5 * rows["core_pct_240mhz_cpi_1"], abs=0.02)


@needs_objdump
def test_command_output(capsys):
    assert main(["bench", "--only", "chip", "--suite", "0"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["function", "part"]
    assert any(line.startswith("tbfw.dsp._ingest_pair") and "loop 1 (line" in line for line in lines)
    assert any(line.startswith("Viper code on the device:") and "240 MHz core" in line for line in lines)
    table = [line.split() for line in lines if line.startswith("chip ")]
    metrics = {cells[1]: cells for cells in table}
    assert {"audio_seconds", "viper_minstr_per_audio_s", "core_pct_240mhz_cpi_1", "core_pct_240mhz_cpi_1_5",
            "ingest_bus_minstr_per_audio_s"} <= set(metrics)
    assert metrics["viper_minstr_per_audio_s"][3] == "Minstr"


def test_command_skips_cleanly_without_the_disassembler(monkeypatch, capsys):
    monkeypatch.setattr(chip.shutil, "which", lambda name: None)
    assert main(["bench", "--only", "chip", "--suite", "0"]) == 0
    captured = capsys.readouterr()
    assert "chip skipped" in captured.err and "binutils-xtensa-lx106" in captured.err
    assert "chip " not in captured.out


def test_core_share_adds_the_bytecode_stages_at_the_calibrated_factor():
    from talkbalance.bench import Row, calibration

    fn = chip.ChipFunction("tbfw.dsp", "k", 100, [chip.Part("outside loops", 10, 0, 0),
                                                  chip.Part("loop 1 (line 1)", 24, 0, 240_000)])
    rows = [Row("calibrate", "pystones_per_s", calibration.ESP32_PYSTONES * 100, "pystones/s"),
            Row("calibrate", "viper_speedup", 16, "x")]
    assert chip.core_share([fn], 2.0, rows) == []  # no pipeline rows: nothing to add
    rows += [Row("pipeline", f"{s}_ms_per_audio_s", ms, "ms")
             for s, ms in (("ingest", 0.2), ("frontend", 0.5), ("conversation", 0.3), ("ring", 0.2), ("link", 0.1))]
    text = "\n".join(chip.core_share([fn], 2.0, rows))
    # viper: 24 x 240,000 / 2 s = 2.88 M instructions a second = 12 ms at 1 cycle, 18 ms at 1.5
    assert "12 to 18 ms" in text
    # bytecode: 0.6 ms x 100 = 60 ms; front end at most 0.5 ms x 100 = 50 ms
    assert "60 ms" in text and "50 ms" in text
    assert "7.2% (viper at 1 cycle" in text and "12.8% (1.5 cycles" in text
    assert "frontend 10.0 us" in text
