# Runs the firmware pipeline over a recording on the MicroPython unix port.
#
#   micropython analyze_main.py FIRMWARE_DIR BOARD_FILE CONFIG_FILE DATA_BYTES [frames]
#
# Standard input: DATA_BYTES of interleaved 16-bit little-endian samples at
# the board's rate, in its channel order (the host converts recordings; a
# file already in that form is given as standard input directly).
# CONFIG_FILE holds the user config overrides as JSON (a file, not an
# argument: the unix port's launcher fails on arguments over 255 bytes).
#
# As on the device, a session that ends (silence, maximum length) is
# recorded and the conversation starts over, so a recording may hold any
# number of sessions. The clock is the recording's: a record's `start` is
# its offset in the recording, in whole seconds. Output lines:
#   @@SESSION <json>     each session's record, in order
#   @@PROGRESS <frames>  every 30 s of audio
#   @@FRAMES <codes>     with `frames`: one character per frame, 0 silence,
#                        1 initiator, 2 partner, 3 both, 4 speech not attributed
#   @@END <frames> <speech frames> <loudest frame, dBFS * 256> <frames each
#         channel was held dead or disconnected, comma-separated>
#   @@ERROR <message>
import json
import sys

sys.path.insert(0, sys.argv[1])

from tbfw import config, talker  # noqa: E402
from tbfw.pipeline import Pipeline  # noqa: E402
from tbfw.session import ENDED, IDLE, SESSION  # noqa: E402

_PROGRESS_S = 30


def _read_full(stream, buf):
    """Fill buf from a pipe or file (a pipe may return less than asked)."""
    got = stream.readinto(buf) or 0
    if got == len(buf) or got == 0:
        return got
    view = memoryview(buf)
    while got < len(buf):
        k = stream.readinto(view[got:])
        if not k:
            break
        got += k
    return got


def main():
    board_path, data_bytes = sys.argv[2], int(sys.argv[4])
    want_frames = len(sys.argv) > 5 and sys.argv[5] == "frames"
    try:
        desc = config.load_board(board_path)
        cfg = config.merge_user(config.load_json(sys.argv[3], "config"))
    except (config.ConfigError, OSError) as exc:
        print("@@ERROR", exc)
        return
    pipe = Pipeline(desc, cfg, "wav", 0)
    conv = pipe.conv
    buf = bytearray(pipe.frame_samples * 2 * desc["channels"])
    total = data_bytes // len(buf)
    frame_s = cfg["frame_ms"] / 1000
    progress_every = _PROGRESS_S * 1000 // cfg["frame_ms"]
    codes = bytearray(total + 1) if want_frames else None
    # confident azimuth of each frame (degrees // 2, 255 = none), to show how
    # speech heard before the talkers were learned was credited
    dirs = bytearray(total + 1) if want_frames else None
    stdin = sys.stdin.buffer
    n = begin = speech = 0
    loudest = -32768
    chans = desc["channels"]
    dead = [0] * chans  # frames each channel was held dead (the front end's dead_mask)
    while n < total and _read_full(stdin, buf) == len(buf):
        idle = conv.state == IDLE
        who = pipe.step_pcm16(buf, int(n * frame_s))
        if idle and conv.state != IDLE:
            begin = n  # the conversation's first frame (speech heard)
        if pipe.fe.speech:
            speech += 1
        if pipe.fe.frame_db_q8 > loudest:
            loudest = pipe.fe.frame_db_q8
        mask = pipe.fe.dead_mask
        if mask:
            for ch in range(chans):
                if (mask >> ch) & 1:
                    dead[ch] += 1
        if codes is not None:
            codes[n] = who
            dirs[n] = pipe.fe.azimuth_deg // 2 if conv.confident else 255
        n += 1
        if conv.state == ENDED:
            _session(conv, codes, dirs, begin, n)
            conv.reset()  # as the device does after saving: ready for the next
        if n % progress_every == 0:
            print("@@PROGRESS", n)
    if conv.state == SESSION:
        conv.end_reason = "end_of_recording"
        _session(conv, codes, dirs, begin, n)
    if codes is not None:
        for i in range(n):
            if codes[i] < 48:  # outside any session: no roles to map
                codes[i] += 48
        print("@@FRAMES", bytes(memoryview(codes)[:n]).decode())
    print("@@END", n, speech, loudest, ",".join(str(d) for d in dead))


def _session(conv, codes, dirs, begin, end):
    """Print the record; turn the session's slot codes into role codes."""
    print("@@SESSION", json.dumps(conv.record()))
    if codes is None:
        return
    ini = conv.initiator_slot if conv.initiator_slot >= 0 else 0
    fold = begin + conv.fold_frame
    for i in range(begin, end):
        c = codes[i]
        if c == talker.UNKNOWN and i < fold and dirs[i] != 255:
            c = _nearest(conv.fold_slot_az, dirs[i] * 2)
        if c == talker.SLOT_A or c == talker.SLOT_B:
            c = 1 if c - talker.SLOT_A == ini else 2
        codes[i] = 48 + c


def _nearest(slot_az, az):
    """The slot the session credited a pre-learning frame to (as _fold_prefix)."""
    da = talker.angle_diff(az, slot_az[0])
    db = talker.angle_diff(az, slot_az[1])
    return talker.SLOT_A if da <= db else talker.SLOT_B


main()
