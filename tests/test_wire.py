"""Property tests of the wire format (tbfw.wire) on CPython."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from talkbalance.fw import wire

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[a-z][a-z0-9_-]{0,23}", fullmatch=True)
ids = st.integers(min_value=0, max_value=999_999_999)
kinds = st.sampled_from(wire.KINDS)
text = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=20)
scalars = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
                      max_leaves=12)
bodies = st.dictionaries(text, values, max_size=5)


def frames_of(items):
    return b"".join(wire.encode(*item) for item in items)


def feed_in_chunks(data: bytes, cuts: list[int]) -> tuple[list, wire.Decoder]:
    dec = wire.Decoder()
    out = []
    pos = 0
    for cut in sorted(set(cuts)):
        out += dec.feed(data[pos:cut])
        pos = cut
    out += dec.feed(data[pos:])
    return out, dec


def encodable(kind, ident, name, body):
    try:
        wire.encode(kind, ident, name, body)
    except wire.WireError:
        return False
    return True


messages = st.tuples(kinds, ids, names, bodies).filter(lambda m: encodable(*m))


@SETTINGS
@given(st.lists(messages, min_size=1, max_size=6), st.lists(st.integers(0, 4000), max_size=8))
def test_round_trip_in_any_chunking(items, cuts):
    data = frames_of(items)
    for byte in data:
        assert byte == 0x0A or 0x20 <= byte <= 0x7E  # printable ASCII lines only
    got, dec = feed_in_chunks(data, [c % (len(data) + 1) for c in cuts])
    assert [(m.kind, m.id, m.name, m.body) for m in got] == [tuple(i) for i in items]
    assert dec.skipped == 0 and dec.too_long == 0


@SETTINGS
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=6))
def test_random_bytes_never_crash_and_chunking_does_not_matter(data, cuts):
    whole = wire.Decoder().feed(data)
    parts, dec = feed_in_chunks(data, [c % (len(data) + 1) for c in cuts])
    assert parts == whole
    assert dec.bytes_in == len(data)
    for msg in whole:  # anything that does come out is a well-formed frame
        assert isinstance(msg, wire.Message) and msg.kind in wire.KINDS and isinstance(msg.body, dict)


printable_log = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120).map(str.encode)
garbage = st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"").replace(b"@tb1 ", b"@tb0 "))


@SETTINGS
@given(st.lists(st.tuples(messages, printable_log | garbage, st.booleans()), min_size=1, max_size=6))
def test_frames_survive_interleaved_log_lines_and_garbage(items):
    """Log lines and garbage between frames, on their own lines or glued in
    front of a frame (a log line that lost its newline), are skipped; a
    frame glued so is kept when the line still fits MAX_LINE (the "\n" not
    counted, as a "\r" may take its place), and the line is dropped whole,
    as docs/protocol.md says, when it does not."""
    data = b""
    kept = []
    for msg, noise, own_line in items:
        frame = wire.encode(*msg)
        data += noise + (b"\n" if own_line else b"") + frame
        if own_line or len(noise) + len(frame) - 1 <= wire.MAX_LINE:
            kept.append(tuple(msg))
    dec = wire.Decoder()
    got = dec.feed(data)
    assert [(m.kind, m.id, m.name, m.body) for m in got] == kept
    assert dec.too_long == len(items) - len(kept)


def test_a_frame_glued_to_a_line_over_max_line_is_dropped_and_the_next_decodes():
    # found by the test above, once it generated a frame near MAX_LINE with
    # garbage glued in front: the frame after such a line is not affected
    body = {"x": ""}
    body["x"] = "a" * (wire.MAX_LINE - 10 - len(wire.encode("ok", 7, "info", body)))
    frame = wire.encode("ok", 7, "info", body)
    for noise, dropped in ((b"0" * 9, False), (b"0" * 11, False), (b"0" * 12, True), (b"0" * 18, True)):
        dec = wire.Decoder()
        got = dec.feed(noise + frame + wire.encode("evt", 0, "tick", {}))
        names = [m.name for m in got]
        assert names == (["tick"] if dropped else ["info", "tick"]) and dec.too_long == dropped, (len(noise), names)


@SETTINGS
@given(messages, messages, st.data())
def test_truncated_frame_is_skipped_and_the_next_one_decodes(first, second, data):
    frame = wire.encode(*first)
    cut = data.draw(st.integers(0, len(frame) - 2))
    got, dec = feed_in_chunks(frame[:cut] + b"\n" + wire.encode(*second), [])
    assert [(m.kind, m.id, m.name, m.body) for m in got] == [tuple(second)]


@SETTINGS
@given(messages, st.data())
def test_any_corrupted_byte_is_rejected(msg, data):
    frame = bytearray(wire.encode(*msg))
    pos = data.draw(st.integers(0, len(frame) - 2))  # not the newline
    new = data.draw(st.integers(0, 255).filter(lambda b: b != frame[pos] and b != 0x0A))
    frame[pos] = new
    got = wire.Decoder().feed(bytes(frame))
    assert got == []


@SETTINGS
@given(messages, st.data())
def test_any_flipped_bit_is_rejected(msg, data):
    frame = bytearray(wire.encode(*msg))
    bit = data.draw(st.integers(0, (len(frame) - 1) * 8 - 1))
    frame[bit // 8] ^= 1 << (bit % 8)
    if b"\n" in frame[:-1]:
        lines = bytes(frame).split(b"\n")
        assert all(wire.parse_line(line) is None for line in lines)
    else:
        assert wire.Decoder().feed(bytes(frame)) == []


@SETTINGS
@given(st.integers(wire.MAX_LINE + 1, 5000), messages, st.booleans())
def test_oversized_lines_are_dropped_whole(length, msg, with_marker):
    line = (b"@tb1 " if with_marker else b"") + b"a" * length
    got, dec = feed_in_chunks(line + b"\n" + wire.encode(*msg), [100, 700, 1500])
    assert [(m.kind, m.id, m.name, m.body) for m in got] == [tuple(msg)]
    assert dec.too_long == 1


@SETTINGS
@given(st.text(min_size=wire.MAX_LINE, max_size=2000))
def test_encoder_refuses_oversized_frames(big):
    with pytest.raises(wire.WireError):
        wire.ok(1, "get", {"pad": big})


@SETTINGS
@given(st.binary(max_size=5000), st.integers(0, 5000))
def test_chunked_records_reassemble(record, resume_at):
    """Parts plus the final ok give back the record; a transfer resumed at an
    offset joins with what was received before."""
    resume_at = min(resume_at, len(record))

    def transfer(offset):
        out = b""
        for off in range(offset, len(record), wire.CHUNK_BYTES):
            out += wire.part(9, "get", "r-1", off, record[off:off + wire.CHUNK_BYTES])
        return out + wire.ok(9, "get", {"rec": "r-1", "size": len(record), "crc": wire.crc_hex(record)})

    msgs = wire.Decoder().feed(transfer(0))
    asm = wire.Assembler("r-1")
    for msg in msgs[:-1]:
        asm.add(msg)
    assert asm.finish(msgs[-1]) == record
    msgs = wire.Decoder().feed(transfer(resume_at))
    asm = wire.Assembler("r-1", resume_at)
    for msg in msgs[:-1]:
        asm.add(msg)
    assert asm.finish(msgs[-1], record[:resume_at]) == record


def test_assembler_rejects_a_wrong_checksum():
    asm = wire.Assembler("r")
    asm.add(wire.Message("part", 1, "get", {"rec": "r", "off": 0, "data": wire.b64(b"abc")}))
    bad = "%08x" % (binascii.crc32(b"abd") & 0xFFFFFFFF)
    with pytest.raises(wire.WireError):
        asm.finish(wire.Message("ok", 1, "get", {"rec": "r", "size": 3, "crc": bad}))


@pytest.mark.parametrize("args", [
    ("req", -1, "x", {}), ("req", 10**9, "x", {}), ("req", True, "x", {}), ("req", 1, "X", {}),
    ("req", 1, "", {}), ("req", 1, "a b", {}), ("nope", 1, "x", {}), ("req", 1, "x", [1]),
    ("req", 1, "x", {"a": object()}), ("req", 1, "x", {"a": "\U0001F600"}),
])
def test_encoder_refuses_what_cannot_be_sent(args):
    with pytest.raises(wire.WireError):
        wire.encode(*args)
