"""`talkbalance bench --only instructions`: the pipeline's x86 instructions
per audio second on the MicroPython unix port, counted by valgrind.

CPU time on a shared machine moves by 5-15% between runs; the number of
instructions the same program executes on the same input does not. Two
runs of mp/bench/instrpass.py under `valgrind --tool=cachegrind`: one pass
over the cost audio as the app runs each frame (mp_pipeline's plain pass:
Pipeline.step_i2s, the ring on the frames it draws, one link poll), and one
that only reads and converts it; the pipeline's instructions are the
difference. With `--against REF` the firmware at REF is counted the same
way, and the ratio is the before-and-after figure to trust on a busy
machine. Not the ESP32's count (that is `--only chip`, for the viper code):
the unix port's x86-64 code, viper and native functions included.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from talkbalance import bench, paths
from talkbalance.errors import TalkbalanceError

SECTION = "instructions"
VALGRIND = "valgrind"
PROGRAM = bench.HERE / "instrpass.py"
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def available() -> str | None:
    """Why the instructions cannot be counted here, or None when they can."""
    if shutil.which(VALGRIND) is None:
        return "valgrind is not installed (apt-get install valgrind)"
    return None


def _run(firmware: Path, wav: str, mode: str) -> tuple[float, int]:
    """(audio seconds, instructions) of one instrpass.py run."""
    cmd = [VALGRIND, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           *paths.micropython(), str(PROGRAM), str(firmware), str(paths.board_path()), wav, mode]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    refs = _REFS.search(proc.stderr)
    frames = re.search(r"@@INSTR frames (\d+) (\d+)", proc.stdout)
    if proc.returncode != 0 or refs is None or frames is None:
        raise TalkbalanceError(f"counting instructions failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return int(frames.group(1)) * int(frames.group(2)) / 1000, int(refs.group(1).replace(",", ""))


def count(firmware: Path, wav: str) -> tuple[float, float]:
    """(audio seconds, the pipeline's instructions per audio second). The
    firmware is counted from a copy at a path of the same length every time
    (a new temporary folder's "fw"): the modules it loads during the pass
    (tbfw.ondemand) are found by their path, and the path moved the count:
    0.05% between a 1- and a 60-character folder name on 20 s of audio,
    0.22% between a fresh clone's firmware and a copy in pytest's folder;
    two copies made so read within 0.004% of each other."""
    with tempfile.TemporaryDirectory(prefix="tb-instr-") as tmp:
        fw = Path(tmp) / "fw"
        shutil.copytree(firmware, fw, ignore=shutil.ignore_patterns("__pycache__"))
        audio_s, plain = _run(fw, wav, "plain")
        _, read = _run(fw, wav, "read")
    return audio_s, (plain - read) / audio_s if audio_s else 0.0


def rows(wav: str, ref: str | None = None, progress=None) -> list[bench.Row]:
    """The section's rows: here, and at `ref` with the ratio."""
    from talkbalance.bench import against

    say = progress or (lambda text: None)
    say("bench: counting instructions (valgrind) ...")
    audio_s, here = count(paths.firmware_dir(), wav)
    out = [bench.Row(SECTION, "audio_seconds", round(audio_s, 1), "s"),
           bench.Row(SECTION, "pipeline_x86_minstr_per_audio_s", round(here / 1e6, 3), "Minstr")]
    if ref:
        say(f"bench: counting instructions at {ref} ...")
        with tempfile.TemporaryDirectory(prefix="tb-instr-") as tmp:
            _, there = count(against.firmware_at(ref, Path(tmp)), wav)
        out += [bench.Row(SECTION, "ref_pipeline_x86_minstr_per_audio_s", round(there / 1e6, 3), "Minstr"),
                bench.Row(SECTION, "ratio_pipeline_x86_instructions", round(here / there, 4) if there else 0.0, "x")]
    return out
