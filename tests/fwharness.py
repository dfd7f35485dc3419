"""Run firmware test modules inside the MicroPython unix port.

A firmware test module is a file `tests/fw/fwtest_*.py` whose top-level
`test_*` functions run under MicroPython. A comment line
`# fw: heapsize=64k` limits the heap (`micropython -X heapsize=64k`).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from talkbalance import paths

RUNNER = Path(__file__).parent / "fw" / "runner.py"
_HEAP = re.compile(r"^#\s*fw:\s*heapsize=(\w+)\s*$", re.M)


@dataclass
class ModuleRun:
    returncode: int
    output: str
    results: dict[str, tuple[bool, str]] = field(default_factory=dict)


def test_names(path: Path) -> list[str]:
    """Top-level test_* functions of a firmware test module, in file order."""
    tree = ast.parse(path.read_text(), str(path))
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


def heapsize(path: Path) -> str | None:
    match = _HEAP.search(path.read_text())
    return match.group(1) if match else None


def run_module(path: Path, timeout: float = 600) -> ModuleRun:
    """Run every test of one module in a single MicroPython process."""
    cmd = list(paths.micropython())
    heap = heapsize(path)
    if heap:
        cmd += ["-X", f"heapsize={heap}"]
    cmd += [str(RUNNER), str(paths.firmware_dir()), str(path)]
    with tempfile.TemporaryDirectory(prefix="tbfw-") as scratch:
        env = dict(os.environ, TB_TEST_BOARD=str(paths.board_path()), TB_TEST_SCRATCH=scratch)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=scratch)
    run = ModuleRun(proc.returncode, proc.stdout + proc.stderr)
    current: str | None = None
    detail: list[str] = []
    for line in proc.stdout.splitlines():
        if line.startswith("@@TB "):
            if current is not None:
                run.results[current] = (False, "\n".join(detail))
                current = None
            parts = line.split()
            if parts[1] == "PASS":
                run.results[parts[2]] = (True, "")
            elif parts[1] == "FAIL":
                current, detail = parts[2], []
        elif current is not None:
            detail.append(line)
    if current is not None:
        run.results[current] = (False, "\n".join(detail))
    return run
