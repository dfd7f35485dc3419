"""`talkbalance bench --only pipeline --against REF`: the pipeline section on
this checkout's firmware and on the firmware of git revision REF, run in
turns in one invocation (REF, here, REF, here, ...), so that both see the
same machine: a shared machine's load moves both alike, and the ratio of
the two is the figure to read. Each side's figure is the least over its
runs (each run is already the best of its passes); the load average after
each run is kept beside it."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

from talkbalance import bench, paths
from talkbalance.errors import InputError

SECTION = "against"
SUFFIX = "_ms_per_audio_s"


def check_ref(ref: str) -> None:
    """InputError unless `ref` names a commit of this checkout that has the
    firmware (before any section runs)."""
    root = paths.checkout_dir()
    if root is None:
        raise InputError("--against needs a git checkout of talkbalance")
    proc = subprocess.run(["git", "-C", str(root), "cat-file", "-e", f"{ref}^{{commit}}:firmware/tbfw"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(f"--against {ref}: not a revision of this checkout with the firmware",
                         "give a commit, branch or tag (git log --oneline lists them)")


def firmware_at(ref: str, dest: Path) -> Path:
    """The firmware folder of git revision `ref` of this checkout, written
    under `dest`; returns the folder holding main.py and tbfw."""
    root = paths.checkout_dir()
    if root is None:
        raise InputError("--against needs a git checkout of talkbalance")
    dest.mkdir(parents=True, exist_ok=True)
    tar = dest / "firmware.tar"
    with tar.open("wb") as out:
        proc = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", ref, "firmware"],
                              stdout=out, stderr=subprocess.PIPE, text=False)
    if proc.returncode != 0:
        raise InputError(f"cannot read the firmware at {ref!r}: {proc.stderr.decode(errors='replace').strip()}")
    with tarfile.open(tar) as t:
        t.extractall(dest, filter="data")
    return dest / "firmware"


def compare(ref: str, rounds: int, args: list[str], progress=None) -> list[bench.Row]:
    """Rows of section `against`: for each stage and the total, the least
    ms per audio second here and at `ref` over `rounds` turns each, and
    here over ref; the load average after each run."""
    if rounds < 1:
        raise InputError("--rounds must be 1 or more")
    with tempfile.TemporaryDirectory(prefix="tb-against-") as tmp:
        sides = {"ref": firmware_at(ref, Path(tmp)), "here": paths.firmware_dir()}
        runs: dict[str, list[dict[str, float]]] = {"ref": [], "here": []}
        for k in range(rounds):
            for side in ("ref", "here"):
                if progress:
                    progress(f"bench: pipeline {k + 1}/{rounds} at {ref if side == 'ref' else 'this checkout'} ...")
                rows = bench.run_section("pipeline", args=args, firmware=sides[side])
                runs[side].append({r.metric: r.value for r in rows})
    return rows_from(ref, runs)


def rows_from(ref: str, runs: dict[str, list[dict[str, float]]]) -> list[bench.Row]:
    """The comparison's rows from each side's runs (metric -> value dicts)."""
    metrics = [m for m in runs["here"][0] if m.endswith(SUFFIX) and all(m in r for r in runs["ref"] + runs["here"])]
    out = [bench.Row(SECTION, "rounds", len(runs["here"]), "count")]
    for m in metrics:
        here = min(r[m] for r in runs["here"])
        there = min(r[m] for r in runs["ref"])
        out.append(bench.Row(SECTION, f"ref_{m}", there, "ms"))
        out.append(bench.Row(SECTION, f"here_{m}", here, "ms"))
        if there > 0:
            out.append(bench.Row(SECTION, f"ratio_{m[:-len(SUFFIX)]}", round(here / there, 3), "x"))
    for side in ("ref", "here"):
        for k, r in enumerate(runs[side]):
            if "load_1min" in r:
                out.append(bench.Row(SECTION, f"load_1min_{side}_{k + 1}", r["load_1min"], "load"))
    return out


def markdown(rows: list[bench.Row], ref: str, command: str) -> str:
    """The section of docs/benchmarks.md for `--against REF`: each stage at
    REF and here, their ratio, and the load after each run."""
    from talkbalance.bench import report

    values = {r.metric: r.value for r in rows if r.section == SECTION}
    table = [["stage", f"at {ref} (ms per audio s)", "here (ms per audio s)", "here / there"]]
    for key in [k[len("ratio_"):] for k in values if k.startswith("ratio_")]:
        m = key + SUFFIX
        table.append([key.replace("_", " "), f"{values[f'ref_{m}']:.3f}", f"{values[f'here_{m}']:.3f}",
                      f"{values['ratio_' + key]:.2f}"])
    loads = {side: [v for k, v in values.items() if k.startswith(f"load_1min_{side}_")] for side in ("ref", "here")}
    lines = [
        f"## Before and after: this firmware against {ref}, in turns",
        "",
        f"`{command}` ran the pipeline section {int(values.get('rounds', 0))} times on each firmware, in "
        f"turns ({ref}, this checkout, {ref}, ...), over the cost audio; each figure is the least of its "
        "runs, and the ratio is the one to read on a shared machine: both sides saw the same load. Load "
        "average after each run: " + ", ".join(f"{x:.1f}" for x in loads["ref"]) + f" ({ref}); "
        + ", ".join(f"{x:.1f}" for x in loads["here"]) + " (here), on 2 cores. The split rows are "
        "estimates (see **pipeline** above); the session part is what remains of the conversation stage "
        "and the least of a remainder is the noisiest figure here.",
        "",
        report.format_markdown(table),
        "",
    ]
    return "\n".join(lines)
