"""The simulated devices running on this computer, for `talkbalance ports`.

`talkbalance sim` keeps a small file per running device in a folder of the
user's (`$TALKBALANCE_SIM_DIR`, else `$XDG_RUNTIME_DIR/talkbalance/sims`,
else `talkbalance-<uid>/sims` in the temporary folder): the serial port, the
process id and the flash folder, as JSON. The file goes when the simulator
stops; a file left by a simulator that was killed is recognised (its process
or its port is gone) and removed when the folder is read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SIM_DIR_ENV = "TALKBALANCE_SIM_DIR"


@dataclass(frozen=True)
class RunningSim:
    port: str
    pid: int
    flash: str


def registry_dir() -> Path:
    env = os.environ.get(SIM_DIR_ENV)
    if env:
        return Path(env)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "talkbalance" / "sims"
    return Path(tempfile.gettempdir()) / f"talkbalance-{os.getuid()}" / "sims"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@contextmanager
def registered(port: str, flash: Path) -> Iterator[Path | None]:
    """Keep this process's entry while the block runs. A folder that cannot
    be written only leaves the device unlisted (None)."""
    folder = registry_dir()
    entry = folder / f"{os.getpid()}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        entry.write_text(json.dumps({"port": port, "pid": os.getpid(), "flash": str(flash)}))
    except OSError:
        entry = None
    try:
        yield entry
    finally:
        if entry is not None:
            entry.unlink(missing_ok=True)


def running() -> list[RunningSim]:
    """Simulated devices running now, by port; stale entries are removed."""
    out = []
    try:
        entries = sorted(registry_dir().glob("*.json"))
    except OSError:
        return []
    for entry in entries:
        try:
            data = json.loads(entry.read_text())
            sim = RunningSim(str(data["port"]), int(data["pid"]), str(data.get("flash", "")))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written, or not ours: left alone
        if _alive(sim.pid) and os.path.exists(sim.port):
            out.append(sim)
        else:
            entry.unlink(missing_ok=True)
    return sorted(out, key=lambda s: s.port)
