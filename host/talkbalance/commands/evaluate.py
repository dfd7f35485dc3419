"""`talkbalance evaluate`: score the firmware pipeline on a suite of simulated scenes."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from talkbalance import paths, scenesim, scoring, tiers
from talkbalance.errors import InputError

_HINT = "see `talkbalance evaluate --help`"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenes", type=int, default=20, help="number of scenes (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each scene (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first scene (default: %(default)s)")
    parser.add_argument("--cache", help="scene cache folder (default: ~/.cache/talkbalance/scenes)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to a Markdown file")
    parser.add_argument("--tier", choices=(*tiers.TIERS, "all"),
                        help="score a tier of scenes instead (docs/evaluation.md): quiet (the 20 default scenes), "
                             "noisy (SNR 0-10 dB, five noise types), reverberant (RT60 0.7-1.0 s), or all three")
    parser.add_argument("--scene", nargs=2, metavar=("WAV", "TRUTH"), help="score one recording against its truth")


def _run_tiers(args: argparse.Namespace) -> int:
    names = tiers.TIERS if args.tier == "all" else (args.tier,)
    cache = Path(args.cache) if args.cache else None
    results = {t: tiers.run(t, args.minutes, cache, scoring.progress) for t in names}
    if args.json:
        print(tiers.to_json(results))
    else:
        for tier, pairs in results.items():
            scores = [s for s, _c in pairs]
            print(f"== {tier} tier\n{scoring.scores_text(scores, scoring.summarise(scores))}\n")
        rows = [pair for pairs in results.values() for pair in pairs]
        for title, table in tiers.tables(rows):
            print(tiers.format_rows(title, table) + "\n")
        print("\n".join(tiers.checks(results)))
    if args.markdown:
        argv = ["talkbalance", "evaluate"] + [a for a in sys.argv[2:]]
        _write_markdown(Path(args.markdown), tiers.report(results, shlex.join(argv)))
    return 0


def _check(args: argparse.Namespace) -> None:
    """The arguments, before any scene is rendered or scored: a bad one is
    one line now, not a traceback after minutes of work."""
    if args.tier and args.scene:
        raise InputError("--tier and --scene: give one or the other", _HINT)
    if not args.scene:
        if not args.tier and not 1 <= args.scenes <= 1000:
            raise InputError(f"--scenes must be 1 to 1000, not {args.scenes}", _HINT)
        if args.seed < 0:
            raise InputError(f"--seed must be 0 or more, not {args.seed}", _HINT)
        if not (math.isfinite(args.minutes) and 0 < args.minutes <= scenesim.MAX_MINUTES):
            raise InputError(f"--minutes must be above 0 and at most {scenesim.MAX_MINUTES}", _HINT)
        if args.cache:
            paths.check_folder(args.cache, "--cache")
    if args.markdown:
        paths.check_output_file(args.markdown, "--markdown")


def _write_markdown(path: Path, generated: str) -> None:
    try:
        tiers.write_markdown(path, generated, "Talker model evaluation", tiers.INTRO)
    except OSError as exc:
        raise InputError(f"--markdown {path}: could not be written ({exc.strerror or exc})") from None
    print(f"wrote {path}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    _check(args)
    if args.tier:
        return _run_tiers(args)
    if args.scene:
        scores = [scoring.evaluate_files(Path(args.scene[0]), Path(args.scene[1]))]
        summary = scoring.summarise(scores)
    else:
        scores, summary = scoring.score_scenes(args.scenes, args.minutes, Path(args.cache) if args.cache else None,
                                             args.seed)
    if args.json:
        print(scoring.to_json(scores, summary))
    else:
        print(scoring.scores_text(scores, summary))
    if args.markdown:
        argv = ["talkbalance", "evaluate"] + [a for a in sys.argv[2:]]
        body = scoring.markdown(scores, summary, shlex.join(argv)).split("\n", 2)[2]  # without its title
        _write_markdown(Path(args.markdown), f"{tiers.BEGIN}\n{body}\n{tiers.END}")
    return 0
