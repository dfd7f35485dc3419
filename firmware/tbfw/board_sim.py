# Simulated board for the MicroPython unix port: audio from a WAV file, in
# I2S word layout so the firmware reads it exactly as it reads the hardware.
# Settings come from environment variables (set by `talkbalance sim`):
#   TB_BOARD   board file (default ./board.json)
#   TB_AUDIO   WAV file in the board's channel order (default: silence)
#   TB_FLASH   directory standing in for the flash filesystem (default .)

import os
import sys

from tbfw import config
from tbfw.wav import WavReader


class SimBoard:
    def __init__(self, board_path, audio_path, flash_dir):
        self.desc = config.load_board(board_path)
        self.flash_dir = flash_dir
        self.config_path = flash_dir + "/config.json"
        self._wav = None
        if audio_path:
            self._wav = WavReader(open(audio_path, "rb"))
            if self._wav.rate != self.desc["sample_rate_hz"]:
                raise config.ConfigError(
                    "audio", "WAV rate %d Hz, board rate %d Hz" % (self._wav.rate, self.desc["sample_rate_hz"])
                )
        self.frame_samples = 0
        self._pcm = None

    def start_audio(self, frame_samples):
        """Allocate the per-frame buffer once: interleaved int16 PCM."""
        self.frame_samples = frame_samples
        self._pcm = bytearray(frame_samples * 2 * self.desc["channels"])
        return self._pcm

    def read_frame(self):
        """Fill the frame buffer; False at the end of the audio."""
        if self._wav is None:
            return False
        pcm = self._pcm
        if pcm is None:
            pcm = self.start_audio(self.desc["sample_rate_hz"] // 50)
        return self._wav.readinto(pcm) == len(pcm)

    def log(self, text):
        sys.stderr.write(text + "\n")


def make():
    flash = os.getenv("TB_FLASH") or "."
    return SimBoard(os.getenv("TB_BOARD") or flash + "/board.json", os.getenv("TB_AUDIO"), flash)
