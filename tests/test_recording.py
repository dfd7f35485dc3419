"""Recordings in (talkbalance.recording): WAV formats, conversion, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal
from talkbalance import recording
from talkbalance.errors import InputError
from wavmake import GUID_TAIL, encode, wav_bytes


def decode(fmt: recording.WavFormat, rate: int, block_s: float = 2.0) -> np.ndarray:
    data = b"".join(recording.pcm16_chunks(fmt, rate, block_s))
    return np.frombuffer(data, "<i2").reshape(-1, fmt.channels)


@pytest.mark.parametrize("bits, encoding, tag, extensible", [
    (16, "int", 1, False), (24, "int", 1, False), (32, "int", 1, False),
    (32, "float", 3, False), (64, "float", 3, False),
    (24, "int", 1, True), (32, "float", 3, True),
])
def test_every_width_reads_back_the_same_samples(tmp_path, bits, encoding, tag, extensible):
    rng = np.random.default_rng(1)
    x = rng.integers(-32768, 32768, size=(3000, 4))
    path = tmp_path / "w.wav"
    path.write_bytes(wav_bytes(encode(x, bits, encoding), 4, 16000, bits, tag, extensible, extra_chunk=True))
    fmt = recording.read_format(path)
    assert (fmt.channels, fmt.rate, fmt.bits, fmt.encoding, fmt.frames) == (4, 16000, bits, encoding, 3000)
    assert np.array_equal(decode(fmt, 16000, block_s=0.01), x)
    assert (fmt.conversion(16000) is None) == (bits == 16 and encoding == "int")


def test_8_bit_is_unsigned(tmp_path):
    x = np.array([[-32768, 0], [32512, -256]])
    path = tmp_path / "u8.wav"
    path.write_bytes(wav_bytes(encode(x, 8, "int"), 2, 16000, 8))
    assert np.array_equal(decode(recording.read_format(path), 16000), x)


@pytest.mark.parametrize("rate_in", [8000, 22050, 44100, 48000, 96000])
def test_streamed_resampling_equals_resampling_the_whole(tmp_path, rate_in):
    rng = np.random.default_rng(rate_in)
    x = np.clip(rng.normal(0, 6000, size=(rate_in * 3 + 17, 2)), -32768, 32767).astype(np.int16)
    path = tmp_path / "r.wav"
    path.write_bytes(wav_bytes(x.tobytes(), 2, rate_in, 16))
    fmt = recording.read_format(path)
    got = decode(fmt, 16000, block_s=0.25)  # many blocks, each with its context
    whole = signal.resample_poly(x.astype(np.float64), *recording.ratio(rate_in, 16000), axis=0)
    want = np.clip(np.rint(whole), -32768, 32767)
    assert got.shape == want.shape == (recording.output_frames(fmt, 16000), 2)
    assert np.abs(got - want).max() <= 1  # rounding of values a hair from .5 may differ


def test_conversion_is_stated():
    fmt = recording.WavFormat(recording.Path("rec.wav"), 4, 48000, 24, "int", 480000, 44)
    note = fmt.conversion(16000)
    assert note == ("rec.wav: 48000 Hz 24-bit integer, 4 channels; converted to 16-bit 16000 Hz "
                    "(polyphase resampler, x1/3) on the way in")


@pytest.mark.parametrize("content, message", [
    (b"fLaC\x00\x00\x00\x22" + bytes(60), "a FLAC file"),
    (b"ID3\x04" + bytes(60), "a MP3 file"),
    (b"\xff\xfb\x90\x64" + bytes(60), "MP3/AAC stream"),
    (b"OggS" + bytes(60), "a Ogg file"),
    (b"FORM\x00\x00\x10\x00AIFFCOMM" + bytes(50), "a AIFF file"),
    (b"\x00\x00\x00\x20ftypM4A " + bytes(50), "MP4/M4A"),
    (b"RF64\xff\xff\xff\xffWAVEds64" + bytes(50), "RF64"),
    (b"session,share\n1,0.3\n", "a text file"),
    (b"", "not a WAV file"),
    (b"\x00\x01\x02\x03" * 20, "not a WAV file"),
])
def test_other_files_are_refused_with_a_hint(tmp_path, content, message):
    path = tmp_path / "rec.wav"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        recording.read_format(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    if "text" not in message:
        assert "ffmpeg" in err.value.hint


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="a directory"):
        recording.read_format(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        recording.read_format(tmp_path / "nope.wav")


@pytest.mark.parametrize("make, message", [
    (lambda: wav_bytes(bytes(1200), 2, 16000, 12), "12-bit integer samples"),
    (lambda: wav_bytes(bytes(1200), 2, 16000, 16, tag=2), "format tag 2"),
    (lambda: wav_bytes(bytes(1200), 2, 16000, 16, tag=3), "16-bit float samples"),
    (lambda: wav_bytes(bytes(1200), 2, 4000, 16), "4000 Hz"),
    (lambda: wav_bytes(bytes(1200), 2, 16000, 16)[:600], "truncated"),
    (lambda: wav_bytes(bytes(1200), 2, 16000, 16)[:40], "truncated WAV"),
    (lambda: wav_bytes(bytes(1200), 2, 16000, 16).replace(b"fmt ", b"junk"), "without a fmt chunk"),
    (lambda: wav_bytes(bytes(1200), 2, 16000, 24, extensible=True).replace(GUID_TAIL, bytes(14)),
     "unknown sub-format"),
])
def test_unusable_wavs_are_refused(tmp_path, make, message):
    path = tmp_path / "rec.wav"
    path.write_bytes(make())
    with pytest.raises(InputError, match=message):
        recording.read_format(path)


def test_unusual_rate_is_refused_before_a_huge_filter(tmp_path):
    path = tmp_path / "odd.wav"
    path.write_bytes(wav_bytes(bytes(4 * 47999), 2, 47999, 16))
    fmt = recording.read_format(path)
    with pytest.raises(InputError, match="unusual rate"):
        list(recording.pcm16_chunks(fmt, 16000))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.integers(0, 100))
def test_any_bytes_give_a_format_or_an_input_error(tmp_path_factory, tail, cut):
    """A header cut anywhere, or garbage after it: a clean answer, never a crash."""
    path = tmp_path_factory.mktemp("fuzz") / "f.wav"
    good = wav_bytes(bytes(64), 2, 16000, 24, extensible=True)
    path.write_bytes(good[:cut] + tail)
    try:
        fmt = recording.read_format(path)
    except InputError:
        return
    assert fmt.frames * fmt.frame_bytes + fmt.data_offset <= path.stat().st_size
    if max(recording.ratio(fmt.rate, 16000)) <= recording.MAX_RATIO_TERM and fmt.frames < 10000:
        out = b"".join(recording.pcm16_chunks(fmt, 16000))
        assert len(out) == 2 * fmt.channels * recording.output_frames(fmt, 16000)
