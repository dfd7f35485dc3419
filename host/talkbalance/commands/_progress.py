"""A one-line progress bar on a terminal (stderr), redrawn in place."""

from __future__ import annotations

import sys
from typing import TextIO

CHOICES = ("auto", "always", "never")


def wanted(choice: str, out: TextIO | None = None) -> bool:
    """--progress auto|always|never: auto shows it when `out` (default
    stderr) is a terminal."""
    out = out if out is not None else sys.stderr
    return choice == "always" or (choice == "auto" and out.isatty())


class Bar:
    """bar.show(fraction, text) redraws the line; bar.end() moves past it."""

    def __init__(self, out: TextIO, width: int = 30):
        self.out = out
        self.width = width
        self.shown = False

    def show(self, fraction: float, text: str) -> None:
        full = round(self.width * min(1.0, max(0.0, fraction)))
        self.out.write(f"\r[{'#' * full}{'-' * (self.width - full)}] {text}")
        self.out.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            self.out.write("\n")
            self.out.flush()
            self.shown = False
