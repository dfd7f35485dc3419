"""The firmware on a 32-bit MicroPython: the heap figure for a plain ESP32.

The unix port here is 64-bit (8-byte words, 32-byte GC blocks) and cannot
say what the ESP32 (4 and 16) needs. MicroPython's webassembly port is a
32-bit build of the same interpreter; its PyScript variant comes from the
npm registry (tools/wasm32, installed by scripts/setup) and runs under
Node.js. tools/wasm32/run.mjs drives a program on it one step at a time.

That port has no native emitter, so the firmware's viper functions go to it
as bytecode with the ESP32's 32-bit semantics (talkbalance.viper32); every
other module is the same bytecode `talkbalance deploy` installs, compiled
by the same mpy-cross. Bytecode lives in the heap, where the ESP32 puts
viper's machine code in IRAM: this side's figure is the higher one.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from talkbalance import paths, viper32
from talkbalance.errors import TalkbalanceError, ToolMissing

_ROOT = paths.checkout_dir()
TOOLS = _ROOT / "tools" / "wasm32" if _ROOT else None
PACKAGE = "@micropython/micropython-webassembly-pyscript"
MP_DIR = Path(__file__).resolve().parent / "mp"
# Firmware modules the simulated device never imports (the ESP32 board, and
# the self-test, which imports it).
BOARD_ONLY = ("board_esp32", "selftest")


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
    extend them in Python; host/talkbalance/mp/wasm32), each program in
    `programs` compiled into lib/, and board.json. Returns dest.
    stub_native: viper and native function bodies become `return 0`, for
    weighing the code the ESP32 keeps out of its heap (not for running)."""
    fw = paths.firmware_dir() / "tbfw"
    lib = dest / "lib"
    (lib / "tbfw").mkdir(parents=True, exist_ok=True)
    for module in sorted(fw.glob("*.py")):
        if module.stem in BOARD_ONLY:
            continue
        text = viper32.bytecode_source(module.read_text(), str(module), stub=stub_native)
        _compile(text, f"tbfw/{module.name}", lib / "tbfw" / f"{module.stem}.mpy")
    _compile((MP_DIR / "viper32rt.py").read_text(), "viper32rt.py", lib / "viper32rt.mpy")
    for shim in sorted((MP_DIR / "wasm32").glob("*.py")):  # os, io, time, binascii: the C modules
        _compile(shim.read_text(), shim.name, lib / f"{shim.stem}.mpy")
    for program in programs:
        text = viper32.bytecode_source(program.read_text(), str(program))
        _compile(text, program.name, lib / f"{program.stem}.mpy")
    shutil.copy(board or paths.board_path(), dest / "board.json")
    return dest


def run(tree: Path, module: str, args: list[str], heapsize: str, timeout: float = 900.0,
        ) -> subprocess.CompletedProcess[str]:
    """Run `module`'s step() to the end on the 32-bit MicroPython with a heap
    of `heapsize` (bytes, or with a k/m suffix), `tree` mounted at /fw."""
    why = available()
    if why is not None:
        raise ToolMissing("the 32-bit MicroPython (webassembly port) cannot run", why)
    cmd = ["node", str(tools_dir() / "run.mjs"), heapsize, str(tree), module, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def session_rows(tree: Path, seconds: int, heapsize: str) -> dict[str, float]:
    """The memory driver's readings (bench.parse) for a session of `seconds`
    on the recording tree/talk.wav, in a heap of `heapsize`."""
    from talkbalance import bench

    proc = run(tree, "mp_memory", ["/fw/lib", "/fw/board.json", "/fw/talk.wav", str(seconds), "session"], heapsize)
    if proc.returncode != 0:
        raise TalkbalanceError(f"the session failed on the 32-bit port: {proc.stderr.strip()[-500:]}")
    return {r.metric: r.value for r in bench.parse(proc.stdout)}


def main(argv: list[str] | None = None) -> int:
    """python -m talkbalance.wasm32 HEAPSIZE... [--seconds S]: for each heap
    size, whether the session ran without growing the heap (docs/memory.md)."""
    import argparse

    from talkbalance import bench

    parser = argparse.ArgumentParser(prog="python -m talkbalance.wasm32", description=main.__doc__)
    parser.add_argument("heapsize", nargs="+", help="bytes given to the port (or with a k/m suffix)")
    parser.add_argument("--seconds", type=int, default=12, help="length of the session (default 12)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tree = build_tree(Path(tmp) / "tree", (bench.HERE / "mp_memory.py", bench.HERE / "mpmem_imports.py"))
        bench.turns_wav(tree / "talk.wav", args.seconds)
        for heap in args.heapsize:
            rows = session_rows(tree, args.seconds, heap)
            usable = int(rows["heap_total_bytes"]) - 128 * 1024 * 1024  # less the port's reserve for new areas
            grew = int(rows["heap_grew_in_boot_step"] or rows["heap_grew_at_step"])
            print(f"heapsize {heap}: {usable} usable bytes, "
                  + (f"grew at step {grew}" if grew else "ran without growing")
                  + f"; largest in use {int(rows['session_peak_heap_all_bytes'])}, driver base "
                  f"{int(rows['base_heap_bytes'])}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
