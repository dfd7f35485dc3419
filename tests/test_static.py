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


# --- the import graphs ------------------------------------------------------------------
#
# Built from the source with `ast`: an edge for every `import` and `from ... import`
# anywhere in a module (a function's deferred import is a dependency all the same), and
# in the firmware for every module loaded by name with tbfw.ondemand (`ondemand.call("x",
# ...)`, `ondemand.loaded("x")`), which is an import too. A cycle is a strongly connected
# part of more than one module.

FIRMWARE = paths.firmware_dir() / "tbfw"
# The one deliberate cycle: code needed only at boot lives in a module of its own, loaded
# by name for the call and released after it (tbfw.ondemand), and it uses the names of the
# module that loads it. tbfw.config checks the board file with tbfw.boardfile, which raises
# config's ConfigError. (tbfw.store's recovery scan, tbfw.storescan, takes the store's
# limits, errors and index entry from tbfw.storeformat instead, so makes no cycle.)
ALLOWED_CYCLES = [["tbfw.boardfile", "tbfw.config"]]


def _module_names(root: Path, package: str) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _named(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement or an on-demand load names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            here = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
        return [base] + [f"{base}.{a.name}" for a in node.names]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "ondemand"
            and node.func.attr in ("call", "loaded") and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return [f"{module.split('.')[0]}.{node.args[0].value}"]
    return []


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports."""
    modules = _module_names(root, package)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _named(node, module, path.name == "__init__.py"):
                parts = name.split(".")
                while parts and ".".join(parts) not in modules:
                    parts.pop()  # `from tbfw import ring` names tbfw.ring; `from tbfw.store import X`, tbfw.store
                target = ".".join(parts)
                if parts and target not in (module, package):
                    graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_cycle_finder_finds_cycles_through_deferred_and_on_demand_imports(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.c import X\n    return X\n")
    (pkg / "c.py").write_text("from pkg import ondemand\n\ndef g():\n    return ondemand.call('a', 'h')\n")
    (pkg / "d.py").write_text("from . import a\n")
    (pkg / "ondemand.py").write_text("")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.c"} and graph["pkg.d"] == {"pkg.a"}
    assert graph["pkg.c"] == {"pkg.ondemand", "pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_the_firmware_imports_have_no_cycle_but_the_boot_time_parts():
    graph = import_graph(FIRMWARE, "tbfw")
    assert "tbfw.boardfile" in graph["tbfw.config"] and "tbfw.config" in graph["tbfw.boardfile"]
    assert "tbfw.storescan" in graph["tbfw.store"] and "tbfw.store" not in graph["tbfw.storescan"]
    assert "tbfw.sessionrecord" in graph["tbfw.session"]  # on-demand loads are edges
    assert cycles(graph) == ALLOWED_CYCLES


def test_the_host_imports_have_no_cycle():
    graph = import_graph(HOST, "talkbalance")
    assert "talkbalance.paths" in graph["talkbalance.fw"]
    assert cycles(graph) == []


def test_the_host_code_map_names_every_library_module():
    """docs/host.md ("How the code is laid out") has a row for every library module."""
    doc = (HOST.parent.parent / "docs" / "host.md").read_text()
    section = doc.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    named = {name.strip("` ") for row in rows for name in row.split(",")}
    modules = {p.stem for p in HOST.glob("*.py")} - {"__init__", "__main__", "cli"}
    assert modules <= named, sorted(modules - named)
    assert named - {"bench/"} <= modules, sorted(named - modules - {"bench/"})


# --- constants copied between firmware modules ------------------------------------------

def _consts(path: Path) -> dict[str, int]:
    """NAME -> value of a module's top-level `NAME = const(value)` with a literal value."""
    out = {}
    for node in ast.parse(path.read_text()).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "const"
                and isinstance(node.value.args[0], ast.Constant)):
            out[node.targets[0].id] = node.value.args[0].value
    return out


def test_copies_of_the_channel_state_words_match_dsp():
    # a module's constants are folded only into its own code, so the modules
    # that read a channel's state keep private copies of dsp's S_* indices
    fw = paths.firmware_dir() / "tbfw"
    words = {name: value for name, value in _consts(fw / "dsp.py").items() if name.startswith("S_")}
    copies = 0
    for module in sorted(fw.glob("*.py")):
        for name, value in _consts(module).items():
            if name.startswith("_S_") and name[1:] in words:
                assert value == words[name[1:]], (module.name, name, value, words[name[1:]])
                copies += 1
    assert copies >= 3  # frontend's _S_PREVQ, _S_SUMABS, _S_ORQ
