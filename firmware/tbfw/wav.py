# Minimal reader for 16-bit PCM WAV files (the recordings the tools accept):
# 2 or 4 channels in the board's channel order. Used by the simulated board
# and by `analyze`; the ESP32 board never reads files of audio.


class WavError(ValueError):
    pass


def _u16(b, i):
    return b[i] | (b[i + 1] << 8)


def _u32(b, i):
    return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)


class WavReader:
    """Reads interleaved int16 frames from an open binary file.

    After construction: `channels`, `rate`, `frames` (total sample frames).
    `readinto(buf)` fills `buf` (bytearray or memoryview) with whole sample
    frames and returns the number of bytes read (0 at the end).
    """

    def __init__(self, f):
        self._f = f
        head = f.read(12)
        if len(head) < 12 or head[0:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise WavError("not a WAV file (no RIFF/WAVE header)")
        fmt = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise WavError("truncated WAV: no data chunk")
            size = _u32(chunk, 4)
            if chunk[0:4] == b"fmt ":
                fmt = f.read(size)
                if len(fmt) < 16:
                    raise WavError("truncated WAV: short fmt chunk")
                if size & 1:
                    f.read(1)
            elif chunk[0:4] == b"data":
                break
            else:
                f.read(size + (size & 1))
        if fmt is None:
            raise WavError("WAV has no fmt chunk before its data")
        tag = _u16(fmt, 0)
        if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: subformat
            tag = _u16(fmt, 24)
        if tag != 1:
            raise WavError("WAV is not PCM (format tag %d)" % tag)
        self.channels = _u16(fmt, 2)
        self.rate = _u32(fmt, 4)
        bits = _u16(fmt, 14)
        if bits != 16:
            raise WavError("WAV is %d-bit; 16-bit PCM is needed" % bits)
        if self.channels not in (2, 4):
            raise WavError("WAV has %d channels; 2 (one pair) or 4 (two pairs) are needed" % self.channels)
        self.frame_bytes = 2 * self.channels
        self.data_bytes = size
        self.frames = size // self.frame_bytes
        self._left = self.frames * self.frame_bytes

    def readinto(self, buf):
        want = min(len(buf) - len(buf) % self.frame_bytes, self._left)
        if want <= 0:
            return 0
        got = self._f.readinto(memoryview(buf)[:want])
        got = got or 0
        got -= got % self.frame_bytes
        self._left -= got
        return got
