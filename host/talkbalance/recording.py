"""Recordings in: WAV files as recorders and microphone arrays write them.

`read_format(path)` reads a WAV header (PCM 8, 16, 24 or 32-bit, IEEE float
32 or 64-bit, plain or WAVE_FORMAT_EXTENSIBLE, any sample rate) and refuses
anything else with a one-line `InputError` and a hint: other containers
(FLAC, MP3, Ogg, AIFF, MP4, RF64...), text files, directories, truncated
files. `pcm16_chunks(fmt, rate)` streams the audio as interleaved 16-bit
little-endian samples at `rate`, converting on the way: the sample width by
scaling (rounded, clipped at full scale) and the rate with scipy's polyphase
resampler (`scipy.signal.resample_poly`'s filter, run block by block with
enough context that the result equals resampling the whole file at once).
A 16-bit recording at `rate` passes through byte for byte. Memory stays at a
few blocks whatever the recording's length.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from talkbalance.errors import InputError
from talkbalance.text import plural

PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
# The tail of the KSDATAFORMAT_SUBTYPE_* GUIDs; the first two bytes are the format tag.
_SUBTYPE_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_INT_BITS = (8, 16, 24, 32)
_FLOAT_BITS = (32, 64)
MIN_RATE_HZ, MAX_RATE_HZ = 8000, 384000
MAX_RATIO_TERM = 2000  # up or down of the reduced rate ratio: a filter of at most 40,001 taps
_BLOCK_S = 2.0  # seconds of input converted at a time

CONVERT_HINT = "convert it to WAV first, e.g. ffmpeg -i IN OUT.wav (any rate; 16, 24 or 32-bit, or float)"
_CONTAINERS = (  # (magic at offset 0, at offset 8 or None, name)
    (b"fLaC", None, "FLAC"),
    (b"OggS", None, "Ogg"),
    (b"ID3", None, "MP3"),
    (b"FORM", b"AIFF", "AIFF"),
    (b"FORM", b"AIFC", "AIFF-C"),
    (b"caff", None, "CAF"),
    (b"RF64", None, "RF64 (WAV over 4 GB)"),
    (b"BW64", None, "BW64 (WAV over 4 GB)"),
    (b"RIFX", None, "big-endian RIFF"),
    (b"riff", None, "Wave64"),
    (b"#!AMR", None, "AMR"),
    (b"\x1aE\xdf\xa3", None, "Matroska/WebM"),
    (b"RIFF", b"AVI ", "AVI"),
)


@dataclass(frozen=True)
class WavFormat:
    """What a WAV file holds, and where its samples are."""

    path: Path
    channels: int
    rate: int
    bits: int  # container bits per sample
    encoding: str  # "int" or "float"
    frames: int  # sample frames in the data chunk
    data_offset: int  # byte offset of the first sample

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.bits // 8

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate

    def describe(self) -> str:
        kind = "float" if self.encoding == "float" else "integer"
        return f"{self.rate} Hz {self.bits}-bit {kind}, {plural(self.channels, 'channel')}"

    def is_pcm16(self, rate: int) -> bool:
        """Already what the pipeline takes: no conversion needed."""
        return self.encoding == "int" and self.bits == 16 and self.rate == rate

    def conversion(self, rate: int) -> str | None:
        """One line saying how the audio is converted for `rate`, or None."""
        if self.is_pcm16(rate):
            return None
        up, down = ratio(self.rate, rate)
        how = ["16-bit"]
        if self.rate != rate:
            how.append(f"{rate} Hz (polyphase resampler, x{up}/{down})")
        return f"{self.path.name}: {self.describe()}; converted to {' '.join(how)} on the way in"


def ratio(rate_in: int, rate_out: int) -> tuple[int, int]:
    """(up, down): the reduced ratio rate_out / rate_in."""
    g = math.gcd(rate_in, rate_out)
    return rate_out // g, rate_in // g


def _u16(b: bytes, i: int) -> int:
    return int.from_bytes(b[i:i + 2], "little")


def _u32(b: bytes, i: int) -> int:
    return int.from_bytes(b[i:i + 4], "little")


def _refuse_other(path: Path, head: bytes) -> None:
    for magic, sub, name in _CONTAINERS:
        if head.startswith(magic) and (sub is None or head[8:12] == sub):
            raise InputError(f"{path}: a {name} file, not a WAV file", CONVERT_HINT)
    if head[4:8] == b"ftyp":
        raise InputError(f"{path}: an MP4/M4A file, not a WAV file", CONVERT_HINT)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        raise InputError(f"{path}: an MP3/AAC stream, not a WAV file", CONVERT_HINT)
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return
    if head and all(32 <= c < 127 or c in b"\t\r\n" or c >= 0x80 for c in head):
        raise InputError(f"{path}: a text file, not a recording", "give a WAV recording")
    raise InputError(f"{path}: not a WAV file (no RIFF/WAVE header)", CONVERT_HINT)


def read_format(path: str | Path) -> WavFormat:
    """Read and check a WAV header; raise InputError (with a hint) if unusable."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: a directory, not a recording", "give one WAV file")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
        _refuse_other(path, head)
        f.seek(12)
        fmt = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise InputError(f"{path}: truncated WAV (no data chunk)", "the recording was cut; record it again")
            kind, length = chunk[:4], _u32(chunk, 4)
            if kind == b"fmt ":
                fmt = f.read(length)
                if len(fmt) < 16:
                    raise InputError(f"{path}: truncated WAV (short fmt chunk)")
                f.seek(length & 1, 1)
            elif kind == b"data":
                break
            else:
                f.seek(length + (length & 1), 1)
        offset = f.tell()
    if fmt is None:
        raise InputError(f"{path}: WAV without a fmt chunk before its data")
    tag, channels, rate, block, bits = _u16(fmt, 0), _u16(fmt, 2), _u32(fmt, 4), _u16(fmt, 12), _u16(fmt, 14)
    if tag == EXTENSIBLE:
        if len(fmt) < 40 or fmt[26:40] != _SUBTYPE_TAIL:
            raise InputError(f"{path}: WAVE_FORMAT_EXTENSIBLE with an unknown sub-format", CONVERT_HINT)
        tag = _u16(fmt, 24)
    if tag == PCM and bits in _INT_BITS:
        encoding = "int"
    elif tag == FLOAT and bits in _FLOAT_BITS:
        encoding = "float"
    else:
        name = {PCM: "integer", FLOAT: "float"}.get(tag, f"format tag {tag}")
        raise InputError(f"{path}: {bits}-bit {name} samples; PCM 8/16/24/32-bit or float 32/64-bit is needed",
                         CONVERT_HINT)
    if channels < 1 or block != channels * bits // 8:
        raise InputError(f"{path}: inconsistent WAV header ({channels} channels, {bits}-bit, {block}-byte frames)")
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise InputError(f"{path}: {rate} Hz; {MIN_RATE_HZ} to {MAX_RATE_HZ} Hz is needed")
    if length == 0xFFFFFFFF:  # written while streaming, size never filled in: up to the end of the file
        length = size - offset
    if offset + length > size:
        raise InputError(f"{path}: truncated ({size} bytes, header promises {offset + length})",
                         "the recording was cut; the part that exists can be kept with sox IN OUT.wav")
    return WavFormat(path, channels, rate, bits, encoding, length // block, offset)


def check_rate(fmt: WavFormat, rate: int) -> None:
    """Refuse a rate whose exact ratio to `rate` needs an unreasonably long filter."""
    up, down = ratio(fmt.rate, rate)
    if max(up, down) > MAX_RATIO_TERM:
        raise InputError(f"{fmt.path}: {fmt.rate} Hz is an unusual rate (ratio {up}/{down} to {rate} Hz)",
                         f"resample it first: sox IN -r {rate} OUT.wav")


def _to_int16_scale(raw: bytes, fmt: WavFormat) -> np.ndarray:
    """Raw sample bytes -> float64 (frames, channels) on the 16-bit scale."""
    bits, ch = fmt.bits, fmt.channels
    if fmt.encoding == "float":
        x = np.frombuffer(raw, "<f4" if bits == 32 else "<f8").astype(np.float64) * 32768.0
        x[~np.isfinite(x)] = 0.0
    elif bits == 8:  # 8-bit WAV is unsigned
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) * 256.0
    elif bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float64)
    elif bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = ((v ^ 0x800000) - 0x800000).astype(np.float64) / 256.0
    else:
        x = np.frombuffer(raw, "<i4").astype(np.float64) / 65536.0
    return x.reshape(-1, ch)


def _pcm16(x: np.ndarray) -> bytes:
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


def _raw_blocks(fmt: WavFormat, frames_per_block: int) -> Iterator[bytes]:
    left = fmt.frames * fmt.frame_bytes
    with open(fmt.path, "rb") as f:
        f.seek(fmt.data_offset)
        while left > 0:
            raw = f.read(min(left, frames_per_block * fmt.frame_bytes))
            raw = raw[:len(raw) - len(raw) % fmt.frame_bytes]
            if not raw:
                return
            left -= len(raw)
            yield raw


def design_filter(up: int, down: int) -> np.ndarray:
    """resample_poly's default low-pass (Kaiser, beta 5), made once."""
    max_rate = max(up, down)
    return signal.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def pcm16_chunks(fmt: WavFormat, rate: int, block_s: float = _BLOCK_S) -> Iterator[bytes]:
    """The recording as interleaved little-endian int16 at `rate`, block by block."""
    block = max(1, int(block_s * fmt.rate))
    if fmt.is_pcm16(rate):
        yield from _raw_blocks(fmt, block)
        return
    up, down = ratio(fmt.rate, rate)
    if up != down:
        check_rate(fmt, rate)
    samples = (_to_int16_scale(raw, fmt) for raw in _raw_blocks(fmt, block))
    for y in resample_stream(samples, fmt.rate, rate, block_s):
        yield _pcm16(y)


def resample_stream(blocks: Iterable[np.ndarray], rate_in: int, rate_out: int,
                    block_s: float = _BLOCK_S) -> Iterator[np.ndarray]:
    """Resample (frames, channels) float blocks of any size from rate_in to
    rate_out with resample_poly's filter, a block at a time. Each block is
    resampled with context on both sides (zeros before the start, as
    resample_poly pads), in multiples of `down` so that its output lines up:
    the result equals resample_poly over the whole signal."""
    up, down = ratio(rate_in, rate_out)
    if up == down:
        yield from blocks
        return
    h = design_filter(up, down)
    half_len = (len(h) - 1) // 2
    context = down * math.ceil((half_len // up + 2) / down)  # input samples each side
    block = down * max(1, round(block_s * rate_in / down))
    out_context, out_block = context * up // down, block * up // down
    pending: np.ndarray | None = None
    for x in blocks:
        if pending is None:
            pending = np.zeros((context, x.shape[1]))
        pending = np.concatenate((pending, x))
        while len(pending) >= 2 * context + block:
            y = signal.resample_poly(pending[:2 * context + block], up, down, axis=0, window=h)
            yield y[out_context:out_context + out_block]
            pending = pending[block:]
    if pending is not None and len(pending) > context:
        y = signal.resample_poly(pending, up, down, axis=0, window=h)
        yield y[out_context:]


def output_frames(fmt: WavFormat, rate: int) -> int:
    """Sample frames pcm16_chunks yields (resample_poly's output length)."""
    up, down = ratio(fmt.rate, rate)
    return -(-fmt.frames * up // down)
