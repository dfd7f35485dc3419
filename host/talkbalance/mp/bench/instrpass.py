# MicroPython program of `talkbalance bench --only instructions`, run under
# valgrind's instruction counter (talkbalance.bench.instructions): one pass of
# the cost audio, either as the app runs each frame (mp_pipeline's plain pass)
# or only read and converted (its reading pass), so that the difference is
# the pipeline's own instructions.
#   micropython instrpass.py FIRMWARE_DIR BOARD_FILE WAV plain|read
#   (WAV "" for mp_pipeline's built-in two-talker signal)
# Prints "@@INSTR frames <n> <frame ms>".
import sys

from mp_pipeline import _plain_pass, _read_pass, _source  # puts sys.argv[1] first on sys.path
from tbfw import config


def main():
    desc = config.load_board(sys.argv[2])
    cfg = config.merge_user({})
    path = sys.argv[3]
    if sys.argv[4] == "read":
        _read_pass(desc, cfg, path)
    else:
        _plain_pass(desc, cfg, path)
    n = desc["sample_rate_hz"] * cfg["frame_ms"] // 1000
    src = _source(desc, n, path)
    pcm = bytearray(n * 2 * desc["channels"])
    frames = 0
    while src.readinto(pcm) == len(pcm):
        frames += 1
    print("@@INSTR frames %d %d" % (frames, cfg["frame_ms"]))


main()
