# Runs the firmware pipeline over a WAV recording on the MicroPython unix port.
#
#   micropython analyze_main.py FIRMWARE_DIR BOARD_FILE WAV CONFIG_FILE [frames]
#
# CONFIG_FILE holds the user config overrides as JSON (a file, not an
# argument: the unix port's launcher fails on arguments over 255 bytes).
#
# Prints "@@RECORD <json>" (the session record), and with `frames` also
# "@@FRAMES <codes>": one character per frame, 0 silence, 1 initiator,
# 2 partner, 3 both, 4 speech not attributed. Errors: "@@ERROR <message>".
import json
import sys

sys.path.insert(0, sys.argv[1])

from tbfw import config, talker  # noqa: E402
from tbfw.pipeline import Pipeline  # noqa: E402
from tbfw.session import ENDED  # noqa: E402
from tbfw.wav import WavError, WavReader  # noqa: E402


def main():
    board_path, wav_path = sys.argv[2], sys.argv[3]
    want_frames = len(sys.argv) > 5 and sys.argv[5] == "frames"
    try:
        desc = config.load_board(board_path)
        cfg = config.merge_user(config.load_json(sys.argv[4], "config"))
        wav = WavReader(open(wav_path, "rb"))
    except (config.ConfigError, WavError, OSError) as exc:
        print("@@ERROR", exc)
        return
    if wav.rate != desc["sample_rate_hz"]:
        print("@@ERROR recording is %d Hz; the board runs at %d Hz" % (wav.rate, desc["sample_rate_hz"]))
        return
    if wav.channels != desc["channels"]:
        print("@@ERROR recording has %d channels; the board has %d microphones" % (wav.channels, desc["channels"]))
        return
    pipe = Pipeline(desc, cfg, "wav", 0)
    buf = bytearray(pipe.frame_samples * wav.frame_bytes)
    frame_s = cfg["frame_ms"] / 1000
    codes = bytearray(wav.frames // pipe.frame_samples + 1) if want_frames else None
    # confident azimuth of each frame (degrees // 2, 255 = none), to show how
    # speech heard before the talkers were learned was credited
    dirs = bytearray(len(codes)) if codes is not None else None
    n = 0
    while wav.readinto(buf) == len(buf):
        who = pipe.step_pcm16(buf, int(n * frame_s))
        if codes is not None:
            codes[n] = who
            dirs[n] = pipe.fe.azimuth_deg // 2 if pipe.conv.confident else 255
        n += 1
        if pipe.conv.state == ENDED:
            break
    conv = pipe.conv
    if conv.state != ENDED:
        conv.end_reason = "end_of_recording"
    rec = conv.record()
    rec["frames_analyzed"] = n
    print("@@RECORD", json.dumps(rec))
    if codes is not None:
        # slot codes -> role codes, now that roles are bound
        ini = conv.initiator_slot if conv.initiator_slot >= 0 else 0
        out = bytearray(n)
        fold = conv.fold_frame
        for i in range(n):
            c = codes[i]
            if c == talker.UNKNOWN and i < fold and dirs[i] != 255:
                c = _nearest(conv.fold_slot_az, dirs[i] * 2)
            if c == talker.SLOT_A or c == talker.SLOT_B:
                c = 1 if c - talker.SLOT_A == ini else 2
            out[i] = 48 + c
        print("@@FRAMES", out.decode())


def _nearest(slot_az, az):
    """The slot the session credited a pre-learning frame to (as _fold_prefix)."""
    da = talker.angle_diff(az, slot_az[0])
    db = talker.angle_diff(az, slot_az[1])
    return talker.SLOT_A if da <= db else talker.SLOT_B


main()
