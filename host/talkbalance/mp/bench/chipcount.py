# MicroPython program of `talkbalance bench --only chip`: one pass of the
# whole pipeline (mp_pipeline.py's) over the audio, with the firmware copy
# whose viper functions carry counters (talkbalance.bench.chip.instrument).
#   micropython chipcount.py COUNTED_FIRMWARE_DIR BOARD_FILE WAV|"" MODULE...
# Prints the audio seconds and, per module, its counters as hex
# (little-endian 32-bit words), or "-" for a module the pipeline does not
# import (the ESP32 board module, the self-test):
#   @@CHIP audio_seconds <s>
#   @@CHIP <module> <hex>|-
import binascii
import sys

from mp_pipeline import _pass  # puts sys.argv[1] first on sys.path
from tbfw import config


def main():
    desc = config.load_board(sys.argv[2])
    cfg = config.merge_user({})
    frames = _pass(desc, cfg, sys.argv[3], False)[0]
    print(f"@@CHIP audio_seconds {frames * cfg['frame_ms'] / 1000:.2f}")
    for name in sys.argv[4:]:
        if name not in sys.modules:
            print(f"@@CHIP {name} -")
            continue
        mod = sys.modules[name]
        print(f"@@CHIP {name} {binascii.hexlify(mod._TBC).decode()}")


main()
