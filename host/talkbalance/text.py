"""Words and names a person reads: plurals, labels with control characters
escaped, file names made from labels.

Labels (partner, note) are typed by a person and kept as typed; whatever is
printed to a terminal or used as a file name goes through here first.
"""

from __future__ import annotations

import re
import unicodedata

FILE_STEM_MAX = 60  # characters of a label kept in a file name


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 interruption`, `2 interruptions`, `0 heated passages`."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def printable(text: str | None) -> str:
    """`text` with control characters (terminal escapes, newlines, tabs, DEL,
    C1 controls) shown as backslash escapes, so a label cannot move the
    cursor, change colours or start a new line."""
    if text is None:
        return ""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\u200d":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
    return "".join(out)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(text: str, limit: int = FILE_STEM_MAX) -> str:
    """A file-name part made from a label: letters (accents dropped), digits,
    `.`, `_` and `-` only, runs of anything else as one `-`, at most `limit`
    characters, never empty or a dot name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE.sub("-", ascii_text).strip("-.")[:limit].strip("-.")
    return stem or "unnamed"
