"""Static check of the firmware against the ESP32 API (micropython-esp32-stubs)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from talkbalance import paths


def _pyright():
    tool = Path(sys.executable).parent / "pyright"
    return str(tool) if tool.exists() else shutil.which("pyright")


@pytest.mark.skipif(_pyright() is None, reason="pyright not installed (pip install -e .[dev])")
def test_firmware_type_checks_against_esp32_stubs():
    fw = paths.firmware_dir()
    proc = subprocess.run([_pyright(), "--pythonpath", sys.executable, "-p", str(fw / "pyrightconfig.json"), str(fw)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the host's layers ---------------------------------------------------------------

HOST = Path(__file__).resolve().parent.parent / "host" / "talkbalance"


def _host_modules():
    """Every CPython module of the laptop tool (mp/ runs on MicroPython)."""
    return [p for p in sorted(HOST.rglob("*.py")) if "mp" not in p.relative_to(HOST).parts]


def _request_names() -> set[str]:
    """The requests the firmware's link answers: the keys of its handler table."""
    tree = ast.parse((paths.firmware_dir() / "tbfw" / "link.py").read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Attribute) and t.attr == "_handlers" for t in node.targets)):
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("no handler table in tbfw/link.py")


def _raw_requests(path: Path, names: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("call", "_send"):
            found.append(f"{path.name}:{node.lineno}: .{node.func.attr}(...)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "-" in node.value \
                and node.value in names:
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


def test_only_the_link_layer_spells_requests():
    """Commands and library modules use Device's named operations; only
    device.py sends a request by its name on the wire."""
    names = _request_names()
    assert {"clock-set", "config-set", "selftest", "live"} <= names, names
    assert _raw_requests(HOST / "device.py", names)  # the check sees what it looks for
    found = [f for path in _host_modules() if path.name != "device.py" for f in _raw_requests(path, names)]
    assert not found, found


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def test_commands_reach_the_firmware_through_library_modules():
    found = [f"{path.name}:{line}: {name}" for path in sorted((HOST / "commands").glob("*.py"))
             for line, name in _imports(path) if name.split(".")[0] == "tbfw" or name.startswith("talkbalance.fw")]
    assert not found, found
    assert any(name.startswith("talkbalance.fw") for _line, name in _imports(HOST / "settings.py"))
