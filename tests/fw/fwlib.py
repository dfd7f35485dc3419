# Helpers for firmware tests running under MicroPython.
import json
import os


def board_path():
    """The project's board file (passed in by the test harness)."""
    return os.getenv("TB_TEST_BOARD")


def board():
    with open(board_path()) as f:
        return json.load(f)


def scratch_dir():
    """A directory the test may write to (made fresh per test module)."""
    return os.getenv("TB_TEST_SCRATCH")
