"""Same records from two versions of the firmware.

    .venv/bin/python tools/same_records.py REF [WAV ...]
    .venv/bin/python tools/same_records.py --whole REF [WAV ...]

Runs `talkbalance analyze` (the whole firmware pipeline on the MicroPython
unix port) over each recording twice: with the checkout's firmware, and with
the firmware of git revision REF. Without `--whole`, the reference is the
checkout's firmware with only tbfw/dsp.py taken from REF (the front end's
viper kernels); with `--whole`, it is the whole firmware tree (main.py and
every tbfw module) as committed at REF, so a module added, removed or
changed anywhere counts. The session records (their text: values and the
order of their keys), the per-frame talker codes, the speech seconds and the
loudest level must be identical. Without WAVs:
the ten-minute quiet-room scenes in the scene cache (scene-*-10min.wav).
Prints one line per recording; exit status 1 when any differs. For a change
that must not change a single result, such as a kernel rewritten for speed
or code moved to save memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from talkbalance import analysis, paths, scenecache
from talkbalance.bench import against
from talkbalance.errors import InputError


def _firmware_at(ref: str, dest: Path, whole: bool = False) -> Path:
    """A copy of the checkout's firmware with tbfw/dsp.py from `ref`, or
    (`whole`) the whole firmware tree at `ref`."""
    if whole:  # the same export as `talkbalance bench --against REF`
        try:
            return against.firmware_at(ref, dest)
        except InputError as exc:
            raise SystemExit(f"same_records: {exc}") from None
    root = paths.firmware_dir()
    checkout = paths.checkout_dir()
    if checkout is None:
        raise SystemExit("same_records: runs from a checkout of talkbalance (it reads git)")
    shutil.copytree(root, dest)
    rel = (root / "tbfw" / "dsp.py").relative_to(checkout)
    proc = subprocess.run(["git", "-C", str(checkout), "show", f"{ref}:{rel.as_posix()}"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"same_records: git show {ref}:{rel}: {proc.stderr.strip()}")
    (dest / "tbfw" / "dsp.py").write_text(proc.stdout)
    return dest


def _run(wav: Path, firmware: Path) -> tuple:
    saved = paths.firmware_dir
    paths.firmware_dir = lambda: firmware  # analysis finds the firmware through paths
    try:
        a = analysis.analyze(wav, frames=True)
    finally:
        paths.firmware_dir = saved
    # the records as text too: dicts compare equal whatever their keys' order,
    # and the order is part of the record the device writes
    return a.sessions, json.dumps(a.sessions), a.frames, a.speech_s, a.loudest_dbfs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ref", help="git revision whose firmware/tbfw/dsp.py (with --whole: whole firmware tree) "
                    "is the reference")
    ap.add_argument("--whole", action="store_true",
                    help="compare the whole firmware tree at REF, not only tbfw/dsp.py")
    ap.add_argument("wavs", nargs="*", type=Path, help="recordings (default: the cached ten-minute scenes)")
    args = ap.parse_args(argv)
    wavs = args.wavs or sorted(scenecache.default_cache().glob("scene-*-10min.wav"))
    if not wavs:
        raise SystemExit("same_records: no recordings given and no ten-minute scenes in the cache")
    differ = 0
    with tempfile.TemporaryDirectory(prefix="tb-same-") as tmp:
        ref_fw = _firmware_at(args.ref, Path(tmp) / "firmware", whole=args.whole)
        for wav in wavs:
            t0 = time.monotonic()
            now = _run(wav, paths.firmware_dir())
            before = _run(wav, ref_fw)
            same = now == before
            differ += not same
            sessions = len(now[0])
            print(f"{wav.name}: {'same' if same else 'DIFFERENT'} ({sessions} session{'s' * (sessions != 1)}, "
                  f"{len(now[2])} frames, {time.monotonic() - t0:.0f} s)", flush=True)
    what = "the firmware" if args.whole else "dsp.py"
    print(f"{len(wavs) - differ} of {len(wavs)} recordings give identical records and frames "
          f"with {what} at {args.ref} and in the checkout")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
