"""`talkbalance evaluate`: score the firmware pipeline on a suite of simulated scenes."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from talkbalance import scoring, tiers


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
        tiers.write_markdown(Path(args.markdown), tiers.report(results, shlex.join(argv)), "Talker model evaluation",
                             tiers.INTRO)
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
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
        tiers.write_markdown(Path(args.markdown), f"{tiers.BEGIN}\n{body}\n{tiers.END}", "Talker model evaluation",
                             tiers.INTRO)
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0
