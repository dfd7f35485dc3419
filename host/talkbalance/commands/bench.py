"""`talkbalance bench`: cost, accuracy against peers, and latency, with targets."""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

from talkbalance import bench, paths, scenecache
from talkbalance.bench import calibration, chip, heap32, instructions
from talkbalance.errors import InputError, TalkbalanceError, ToolMissing

ACCURACY = "accuracy"
CHIP = "chip"
HEAP32 = "heap32"
INSTRUCTIONS = instructions.SECTION


def configure(parser: argparse.ArgumentParser) -> None:
    from talkbalance.bench import accuracy

    parser.add_argument("--only", action="append", metavar="SECTION",
                        help="run only this section (repeatable); default all: "
                        + ", ".join(bench.sections() + [CHIP, INSTRUCTIONS, HEAP32, ACCURACY])
                        + ". chip: Xtensa instructions of each viper function's loops and of the rest, "
                        "from the xtensawin code mpy-cross emits (disassembled by xtensa-lx106-elf-objdump, "
                        "from binutils-xtensa-lx106; skipped with a message without it), "
                        "times the iterations counted in one pipeline pass over the cost audio on the unix "
                        "port: instructions per audio second and the share of a 240 MHz core at 1 and 1.5 "
                        "cycles per instruction (docs/benchmarks.md, \"Chip\"). "
                        "instructions: the pipeline's x86 instructions per audio second on the unix port, "
                        "counted by valgrind (the same on a busy machine; with --against, also at REF and "
                        "the ratio; skipped with a message without valgrind). "
                        "heap32: the whole session on a 32-bit MicroPython (the webassembly port, from "
                        "tools/wasm32; skipped with a message without it) in a plain ESP32's heap plus the "
                        "allowances measured there (docs/memory.md)")
    parser.add_argument("--heap32", action="append", metavar="BYTES", default=None,
                        help="heap32: also run the session with this heap given to the 32-bit port "
                        "(bytes, or with a k/m suffix; repeatable), to find the smallest that runs")
    parser.add_argument("--against", metavar="REF", default=None,
                        help="pipeline and instructions: also run the pipeline section on the firmware of git revision REF "
                        "(a checkout only), in turns with this one's (REF, here, REF, ...), and print each "
                        "stage's cost on both and their ratio, with the load average after each run: on a "
                        "shared machine compare the ratio, not figures from runs at different times")
    parser.add_argument("--rounds", type=int, default=3, metavar="N",
                        help="--against: runs on each side (default 3; each side's least counts)")
    parser.add_argument("--suite", type=int, default=accuracy.DEFAULT_SCENES, metavar="N",
                        help=f"scenes in the accuracy suite (default {accuracy.DEFAULT_SCENES}; 0 skips it)")
    parser.add_argument("--minutes", type=float, default=accuracy.DEFAULT_MINUTES, metavar="M",
                        help=f"length of each scene in minutes (default {accuracy.DEFAULT_MINUTES:g})")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="where rendered scenes are kept (default ~/.cache/talkbalance/scenes)")
    parser.add_argument("--jobs", type=int, default=1, metavar="J",
                        help="scenes processed at a time (default 1; the peers take most of the time)")
    parser.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                        help="also write the report as Markdown (docs/benchmarks.md in a checkout)")


def _command_line(args: argparse.Namespace) -> str:
    parts = ["talkbalance", "bench"]
    for name in args.only or []:
        parts += ["--only", name]
    for heap in args.heap32 or []:
        parts += ["--heap32", heap]
    if args.against:
        parts += ["--against", args.against, "--rounds", str(args.rounds)]
    parts += ["--suite", str(args.suite), "--minutes", f"{args.minutes:g}"]
    if args.markdown:
        parts += ["--markdown", str(args.markdown)]
    return " ".join(parts)


def _micropython_version() -> str:
    try:
        proc = subprocess.run(paths.micropython() + ["-c", "import sys; print(sys.implementation.version)"],
                              capture_output=True, text=True, timeout=30)
        return proc.stdout.strip()
    except (OSError, subprocess.SubprocessError, TalkbalanceError):
        return "?"


def bracket_calibration(rows: list[bench.Row], after: list[bench.Row]) -> list[bench.Row]:
    """Calibration rows replaced by the mean of the runs before and after the
    pipeline, with the two runs' pystones kept for the record."""
    later = {r.metric: r for r in after}
    out = []
    for r in rows:
        if r.section == "calibrate" and r.metric in ("pystones_per_s", "viper_speedup") and r.metric in later:
            second = later[r.metric].value
            if r.metric == "pystones_per_s":
                out.append(bench.Row("calibrate", "pystones_per_s_before", r.value, r.unit))
                out.append(bench.Row("calibrate", "pystones_per_s_after", second, r.unit))
            out.append(bench.Row(r.section, r.metric, (r.value + second) / 2, r.unit, r.target))
        else:
            out.append(r)
    return out


_HINT = "see `talkbalance bench --help`"


def _check(args: argparse.Namespace, wanted: list[str]) -> None:
    """The arguments, before any section runs: a bad one is one line now,
    not after minutes of measuring."""
    if args.suite < 0:
        raise InputError("--suite must be 0 or more", _HINT)
    if args.rounds < 1:
        raise InputError("--rounds must be 1 or more", _HINT)
    if args.jobs < 1:
        raise InputError("--jobs must be 1 or more", _HINT)
    if args.suite > 0 and not (math.isfinite(args.minutes) and 0.5 <= args.minutes <= 60):
        raise InputError("--minutes must be from 0.5 to 60", _HINT)
    if args.against and ("pipeline" in wanted or INSTRUCTIONS in wanted):
        from talkbalance.bench import against

        against.check_ref(args.against)
    for size in args.heap32 or []:
        heap32.heap_bytes(size)
    if args.cache:
        paths.check_folder(args.cache, "--cache")
    if args.markdown:
        paths.check_output_file(args.markdown, "--markdown")


def run(args: argparse.Namespace) -> int:
    from talkbalance.bench import accuracy, report

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    known = bench.sections() + [CHIP, INSTRUCTIONS, HEAP32, ACCURACY]
    wanted = args.only or known
    for name in wanted:
        if name not in known:
            raise InputError(f"no benchmark section {name!r}", "sections: " + ", ".join(known))
    _check(args, wanted)
    cache = args.cache or scenecache.default_cache()

    rows: list[bench.Row] = []
    against_md = ""
    cost_audio = ""
    for name in [n for n in known if n in wanted and n not in (CHIP, INSTRUCTIONS, HEAP32, ACCURACY)]:
        extra: list[str] = []
        if name == "pipeline" and args.suite > 0:
            wav, _ = scenecache.ensure_scene(cache, 1, args.minutes, progress)
            extra = [str(wav)]
            cost_audio = wav.name
        progress(f"bench: running {name} ...")
        rows += bench.run_section(name, args=extra)
        if name == "pipeline" and args.against:
            from talkbalance.bench import against

            compared = against.compare(args.against, args.rounds, extra, progress)
            rows += compared
            against_md = against.markdown(compared, args.against, _command_line(args))
    ran = {r.section for r in rows}
    if "calibrate" in ran and "pipeline" in ran:
        # The host's speed drifts between runs: calibrate again right after
        # the pipeline and scale by the mean of the two, which bracket it.
        progress("bench: running calibrate again ...")
        rows = bracket_calibration(rows, bench.run_section("calibrate"))
    if "calibrate" in ran:
        rows += calibration.derived_rows(rows)
    chip_md = ""
    if CHIP in wanted:
        wav = None
        if args.suite > 0:
            wav, _ = scenecache.ensure_scene(cache, 1, args.minutes, progress)
            cost_audio = wav.name
        progress("bench: running chip ...")
        try:
            functions, audio_s = chip.run_counts(wav)
        except ToolMissing as exc:
            progress(f"bench: chip skipped: {exc} ({exc.hint})")
        else:
            rows += chip.rows(functions, audio_s)
            print(report.format_text(chip.table(functions, audio_s)))
            print("\n".join(chip.summary(functions, audio_s)))
            print()
            chip_md = chip.markdown(functions, audio_s, rows)

    if INSTRUCTIONS in wanted:
        why = instructions.available()
        if why is not None:
            progress(f"bench: instructions skipped: {why}")
        else:
            wav = ""
            if args.suite > 0:
                wav = str(scenecache.ensure_scene(cache, 1, args.minutes, progress)[0])
                cost_audio = Path(wav).name
            rows += instructions.rows(wav, args.against, progress)

    if HEAP32 in wanted:
        why = heap32.available()
        if why is not None:
            progress(f"bench: heap32 skipped: the 32-bit MicroPython cannot run ({why})")
        else:
            progress("bench: running heap32 ...")
            rows += heap32.bench_rows(args.heap32)

    comparison = None
    if ACCURACY in wanted and args.suite > 0:
        comparison = accuracy.compare_methods(args.suite, args.minutes, cache, progress=progress,
                                              jobs=args.jobs)
        rows += accuracy.summary_rows(comparison)
        print(report.format_text(report.accuracy_rows(comparison)))
        print()
    print(bench.rows_text(rows))
    if args.markdown:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
        info = {"machine": f"{platform.machine()}, {platform.system()}, {os.cpu_count()} cores (load average "
                f"{load} at the end of the run), Python {platform.python_version()}",
                "micropython": _micropython_version(), "cost_audio": cost_audio or "built-in two-talker signal"}
        text = report.markdown_report(comparison, rows, _command_line(args), info)
        if against_md:
            text += "\n" + against_md
        if chip_md:
            text += "\n" + chip_md
        try:
            args.markdown.write_text(text)
        except OSError as exc:
            raise InputError(f"cannot write {args.markdown}: {exc}") from None
        progress(f"bench: wrote {args.markdown}")
    return 0
