"""The fixed decoder corpus (tests/wire_corpus.py) on CPython; the same file
is decoded under MicroPython by tests/fw/fwtest_wire.py."""

from __future__ import annotations

import base64
import json

import pytest
import wire_corpus
from talkbalance.fw import wire

CORPUS = json.loads(wire_corpus.FIXTURE.read_text())
CASES = CORPUS["decode"]


def decode(data: bytes, chunks: list[int]) -> tuple[list[list], dict]:
    dec = wire.Decoder()
    out = []
    pos = i = 0
    while pos < len(data):
        size = chunks[i % len(chunks)] or len(data)
        out += dec.feed(data[pos:pos + size])
        pos += size
        i += 1
    return [[m.kind, m.id, m.name, m.body] for m in out], dec.stats()


def test_fixture_is_current():
    assert CORPUS == json.loads(json.dumps(wire_corpus.corpus(), sort_keys=True))


def test_corpus_is_substantial():
    assert len(CASES) >= 30
    assert sum(1 for c in CASES if not c["expect"]) >= 10  # cases where nothing may come out


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case):
    got, stats = decode(base64.b64decode(case["data"]), case["chunks"])
    assert got == case["expect"]
    for key, value in case["stats"].items():
        assert stats[key] == value, key


@pytest.mark.parametrize("case", CORPUS["encode"], ids=[c["frame"][:30] for c in CORPUS["encode"]])
def test_encode(case):
    frame = wire.encode(case["kind"], case["id"], case["name"], case["body"])
    assert frame == case["frame"].encode()
    [msg] = wire.Decoder().feed(frame)
    assert (msg.kind, msg.id, msg.name, msg.body) == (case["kind"], case["id"], case["name"], case["body"])
