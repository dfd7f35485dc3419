# The wire format under MicroPython: the fixed corpus (tests/fixtures/
# wire_corpus.json, built by tests/wire_corpus.py) must decode and encode
# exactly as it does on CPython (tests/test_wire_corpus.py).
# fw: heapsize=128k
import binascii
import json

from tbfw import wire
from wirechunks import decode_in_chunks


def _corpus():
    here = __file__.rsplit("/", 1)[0]
    with open(here + "/../fixtures/wire_corpus.json") as f:
        return json.load(f)


def test_decode_corpus():
    cases = _corpus()["decode"]
    assert len(cases) >= 30
    failed = []
    for case in cases:
        got, stats = decode_in_chunks(binascii.a2b_base64(case["data"]), case["chunks"])
        if got != case["expect"]:
            failed.append((case["name"], got))
            continue
        for key in case["stats"]:
            if stats[key] != case["stats"][key]:
                failed.append((case["name"], key, stats[key]))
    assert not failed, failed


def test_encode_corpus():
    for case in _corpus()["encode"]:
        frame = wire.encode(case["kind"], case["id"], case["name"], case["body"])
        assert frame == case["frame"].encode(), (frame, case["frame"])
        msgs = wire.Decoder().feed(frame)
        assert len(msgs) == 1
        assert msgs[0].body == case["body"]


def test_chunked_record_round_trip():
    data = bytes(range(256)) * 5 + b"tail"
    ident = 77
    frames = b""
    for off in range(0, len(data), wire.CHUNK_BYTES):
        frames += wire.part(ident, "get", "r-1", off, data[off:off + wire.CHUNK_BYTES])
    frames += wire.ok(ident, "get", {"rec": "r-1", "size": len(data), "crc": wire.crc_hex(data)})
    msgs = wire.Decoder().feed(frames)
    asm = wire.Assembler("r-1")
    for msg in msgs[:-1]:
        assert msg.kind == "part" and len(wire.encode(msg.kind, msg.id, msg.name, msg.body)) <= wire.MAX_LINE
        asm.add(msg)
    assert asm.finish(msgs[-1]) == data
    # A lost chunk is caught, and the transfer can resume from next_offset.
    asm = wire.Assembler("r-1")
    asm.add(msgs[0])
    try:
        asm.add(msgs[2])
    except wire.WireError:
        pass
    else:
        raise AssertionError("a gap was accepted")
    assert asm.next_offset == wire.CHUNK_BYTES


def test_oversized_frames_are_refused():
    try:
        wire.ok(1, "get", {"pad": "x" * wire.MAX_LINE})
    except wire.WireError:
        return
    raise AssertionError("a frame over MAX_LINE was encoded")
