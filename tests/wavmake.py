"""WAV files of any format, built by hand for the tests (the wave module
writes integer PCM only): whole, or streamed from blocks."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def header(data_bytes: int, channels: int, rate: int, bits: int, tag: int = 1,
           extensible: bool = False, extra_chunk: bool = False) -> bytes:
    """Everything before the samples; a LIST chunk before the data if asked."""
    block = channels * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0)
        fmt += struct.pack("<H", tag) + GUID_TAIL
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        body += b"LIST" + struct.pack("<I", 5) + b"abcde\x00"
    body += b"data" + struct.pack("<I", data_bytes)
    return b"RIFF" + struct.pack("<I", len(body) + data_bytes) + body


def wav_bytes(samples: bytes, channels: int, rate: int, bits: int, tag: int = 1,
              extensible: bool = False, extra_chunk: bool = False) -> bytes:
    return header(len(samples), channels, rate, bits, tag, extensible, extra_chunk) + samples


def encode(x16: np.ndarray, bits: int, encoding: str) -> bytes:
    """Samples on the 16-bit scale -> raw bytes of the given width."""
    if encoding == "float":
        return (np.asarray(x16, np.float64) / 32768.0).astype("<f4" if bits == 32 else "<f8").tobytes()
    if bits == 8:
        return (np.round(x16 / 256.0) + 128).clip(0, 255).astype(np.uint8).tobytes()
    if bits == 16:
        return np.clip(np.round(x16), -32768, 32767).astype("<i2").tobytes()
    if bits == 24:
        v = np.clip(np.round(np.asarray(x16, np.float64) * 256), -(1 << 23), (1 << 23) - 1).astype("<i4")
        return v.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return np.clip(np.round(np.asarray(x16, np.float64) * 65536), -(1 << 31), (1 << 31) - 1).astype("<i4").tobytes()


def write_stream(path: Path, blocks: Iterable[np.ndarray], frames: int, channels: int, rate: int, bits: int,
                 encoding: str = "int", extensible: bool = False) -> Path:
    """Write `frames` sample frames given as (n, channels) blocks on the 16-bit scale."""
    tag = 3 if encoding == "float" else 1
    with open(path, "wb") as f:
        f.write(header(frames * channels * bits // 8, channels, rate, bits, tag, extensible))
        written = 0
        for x in blocks:
            x = x[:frames - written]
            f.write(encode(x, bits, encoding))
            written += len(x)
    assert written == frames, (written, frames)
    return path
