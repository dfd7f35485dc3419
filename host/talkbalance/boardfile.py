"""The board file on the host: the firmware's own validation, CPython side."""

from __future__ import annotations

from pathlib import Path

from talkbalance import paths
from talkbalance.errors import InputError
from talkbalance.fw import config as fwconfig


def load(path: str | Path | None = None) -> dict:
    """Load and validate a board file (default: the project's own)."""
    path = Path(path) if path else paths.board_path()
    try:
        return fwconfig.load_board(str(path))
    except fwconfig.ConfigError as exc:
        raise InputError(f"board file {path}: {exc}", "see docs/board.md for the fields") from None


def mic_positions(board: dict) -> list[tuple[float, float]]:
    """(x, y) in metres for each channel, in channel order."""
    by_channel = {m["channel"]: (float(m["x_m"]), float(m["y_m"])) for m in board["mics"]}
    return [by_channel[ch] for ch in range(board["channels"])]
