"""Run the firmware pipeline over a recording and return the session record.

The pipeline runs on the MicroPython unix port (the real runtime), fed from
a 16-bit PCM WAV in the board's channel order. The record is the same object
the device stores and syncs (docs/record.md).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from talkbalance import board as boardfile
from talkbalance import paths
from talkbalance.errors import InputError, TalkbalanceError
from talkbalance.fw import config as fwconfig

MAIN = Path(__file__).resolve().parent / "mp" / "analyze_main.py"


@dataclass
class Analysis:
    record: dict
    frames: str  # per-frame codes (see mp/analyze_main.py), "" unless asked


def check_wav(path: Path, rate: int) -> tuple[int, int]:
    """Validate a recording; return (channels, frames) or raise InputError."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, wav_rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
    except (wave.Error, EOFError) as exc:
        raise InputError(f"{path}: not a usable WAV file ({exc})", "record 16-bit PCM WAV") from None
    if width != 2:
        raise InputError(f"{path}: {8 * width}-bit samples; 16-bit PCM is needed", "convert with: sox IN -b 16 OUT.wav")
    if channels not in (2, 4):
        raise InputError(f"{path}: {channels} channels; 2 (one pair) or 4 (two pairs) are needed")
    if wav_rate != rate:
        raise InputError(f"{path}: {wav_rate} Hz; the board runs at {rate} Hz", f"resample: sox IN -r {rate} OUT.wav")
    expected = 44 + frames * channels * 2
    size = path.stat().st_size
    if size < expected:
        raise InputError(f"{path}: truncated ({size} bytes, header promises {expected})")
    return channels, frames


def one_pair_board(desc: dict) -> dict:
    """The board reduced to its first pair (for a 2-channel recording)."""
    plus, minus = desc["pairs"][0]["plus"], desc["pairs"][0]["minus"]
    keep = {plus: 0, minus: 1}
    out = {k: v for k, v in desc.items() if k not in ("channels", "pair_lags")}
    out["mics"] = [dict(m, channel=keep[m["channel"]]) for m in desc["mics"] if m["channel"] in keep]
    out["i2s"] = [dict(desc["i2s"][0], channels=[0, 1])]
    out["pairs"] = [dict(desc["pairs"][0], plus=0, minus=1)]
    return out


def analyze(wav_path: str | Path, board_path: str | Path | None = None,
            overrides: dict | None = None, frames: bool = False, timeout: float = 1800) -> Analysis:
    wav_path = Path(wav_path)
    desc = boardfile.load(board_path)
    try:
        cfg = fwconfig.merge_user(overrides or {})
    except fwconfig.ConfigError as exc:
        raise InputError(f"config: {exc}") from None
    channels, _ = check_wav(wav_path, desc["sample_rate_hz"])
    with tempfile.TemporaryDirectory(prefix="tb-analyze-") as tmp:
        board_file = Path(board_path) if board_path else paths.board_path()
        if channels == 2 and desc["channels"] == 4:
            board_file = Path(tmp) / "board.json"
            board_file.write_text(json.dumps(one_pair_board(desc)))
        elif channels != desc["channels"]:
            raise InputError(f"{wav_path}: {channels} channels, but the board has {desc['channels']} microphones")
        cfg_file = Path(tmp) / "config.json"
        cfg_file.write_text(json.dumps(cfg))
        cmd = paths.micropython() + [str(MAIN), str(paths.firmware_dir()), str(board_file), str(wav_path),
                                     str(cfg_file)]
        if frames:
            cmd.append("frames")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    record, codes = None, ""
    for line in proc.stdout.splitlines():
        if line.startswith("@@ERROR "):
            raise InputError(f"{wav_path}: {line[8:]}")
        if line.startswith("@@RECORD "):
            record = json.loads(line[9:])
        elif line.startswith("@@FRAMES "):
            codes = line[9:]
    if proc.returncode != 0 or record is None:
        raise TalkbalanceError(f"the firmware pipeline failed on {wav_path}:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return Analysis(record, codes)
