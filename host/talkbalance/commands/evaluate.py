"""`talkbalance evaluate`: score the firmware pipeline on a suite of simulated scenes."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from talkbalance import evaluate


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenes", type=int, default=20, help="number of scenes (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each scene (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first scene (default: %(default)s)")
    parser.add_argument("--cache", help="scene cache folder (default: ~/.cache/talkbalance/scenes)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to a Markdown file")
    parser.add_argument("--scene", nargs=2, metavar=("WAV", "TRUTH"), help="score one recording against its truth")


def run(args: argparse.Namespace) -> int:
    if args.scene:
        scores = [evaluate.evaluate_files(Path(args.scene[0]), Path(args.scene[1]))]
        summary = evaluate.summarise(scores)
    else:
        scores, summary = evaluate.score_scenes(args.scenes, args.minutes, Path(args.cache) if args.cache else None,
                                             args.seed)
    if args.json:
        print(evaluate.to_json(scores, summary))
    else:
        print(evaluate.scores_text(scores, summary))
    if args.markdown:
        argv = ["talkbalance", "evaluate"] + [a for a in sys.argv[2:]]
        Path(args.markdown).write_text(evaluate.markdown(scores, summary, shlex.join(argv)))
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0
