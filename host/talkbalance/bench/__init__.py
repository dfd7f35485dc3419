"""`talkbalance bench`: measured cost and accuracy, with the targets beside them.

Cost is measured by MicroPython programs (host/talkbalance/mp/bench/mp_<section>.py),
run on the MicroPython unix port with the firmware on their path. Each prints
result lines

    @@BENCH <section> <metric> <value> <unit> [target <op> <limit>]

that this module gathers into one table. A metric with a target is marked
`ok` or `OVER`; the command's exit status is 0 either way (these are
measurements on a shared machine, not tests).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from talkbalance import paths
from talkbalance.errors import TalkbalanceError

HERE = paths.MP_DIR / "bench"  # the sections' MicroPython programs
TURN_S = 3  # turns_wav: seconds per talker turn


def turns_wav(path: Path, seconds: int) -> Path:
    """The memory measurements' recording (tests/test_sim_heap.py,
    tests/test_heap32.py, talkbalance bench --only heap32): speech-like turns of
    TURN_S seconds from 40 and 220 degrees after a quiet first turn, over
    room noise, at the board's rate and channel count."""
    import wave

    import numpy as np

    from talkbalance import boardfile, signals

    rate = 16000
    rng = np.random.default_rng(11)
    desc = boardfile.load()
    out = rng.normal(0, 30, (seconds * rate, desc["channels"]))
    turn = TURN_S * rate
    for k in range(1, seconds // TURN_S):
        src = 3000 * signals.speech_like(turn, rate, rng)
        out[k * turn:(k + 1) * turn] += signals.render_far_field(src, desc, 40.0 if k % 2 else 220.0).T
    with wave.open(str(path), "wb") as w:
        w.setnchannels(desc["channels"])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(out, -32768, 32767).astype("<i2").tobytes())
    return path


@dataclass
class Row:
    section: str
    metric: str
    value: float
    unit: str
    target: str = ""

    @property
    def verdict(self) -> str:
        if not self.target:
            return ""
        op, limit = self.target.split()
        ok = self.value <= float(limit) if op == "<=" else self.value >= float(limit)
        return "ok" if ok else "OVER"


def sections() -> list[str]:
    """Names of the MicroPython benchmark programs, in run order."""
    return sorted(p.stem[3:] for p in HERE.glob("mp_*.py"))


def parse(output: str) -> list[Row]:
    rows = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] != "@@BENCH":
            continue
        target = " ".join(parts[6:8]) if len(parts) >= 8 and parts[5] == "target" else ""
        rows.append(Row(parts[1], parts[2], float(parts[3]), parts[4], target))
    return rows


def run_section(name: str, heapsize: str | None = None, timeout: float = 900,
                args: list[str] | None = None, firmware: Path | None = None) -> list[Row]:
    """Run mp_<name>.py; `args` follow the firmware folder (`firmware`, by
    default this installation's) and the board file."""
    script = HERE / f"mp_{name}.py"
    if not script.is_file():
        raise TalkbalanceError(f"no benchmark section {name!r}", "sections: " + ", ".join(sections()))
    cmd = list(paths.micropython())
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    cmd += [str(script), str(firmware or paths.firmware_dir()), str(paths.board_path())] + list(args or [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise TalkbalanceError(f"benchmark {name} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return parse(proc.stdout)


def rows_text(rows: list[Row]) -> str:
    """The cost rows as a plain-text table."""
    lines = [f"{'section':<12} {'metric':<34} {'value':>12} {'unit':<10} {'target':<12} verdict"]
    for r in rows:
        lines.append(f"{r.section:<12} {r.metric:<34} {r.value:>12.4g} {r.unit:<10} {r.target:<12} {r.verdict}")
    return "\n".join(lines)
