"""The fixed decoder corpus (tests/wire_corpus.py) on CPython; the same file
is decoded under MicroPython by tests/fw/fwtest_wire.py."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
import wire_corpus
from talkbalance.fw import wire

sys.path.insert(0, str(Path(__file__).parent / "fw"))
from wirechunks import decode_in_chunks  # noqa: E402  (shared with tests/fw/fwtest_wire.py)

CORPUS = json.loads(wire_corpus.FIXTURE.read_text())
CASES = CORPUS["decode"]


def test_fixture_is_current():
    assert CORPUS == json.loads(json.dumps(wire_corpus.corpus(), sort_keys=True))


def test_corpus_is_substantial():
    assert len(CASES) >= 30
    assert sum(1 for c in CASES if not c["expect"]) >= 10  # cases where nothing may come out


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case):
    got, stats = decode_in_chunks(base64.b64decode(case["data"]), case["chunks"])
    assert got == case["expect"]
    for key, value in case["stats"].items():
        assert stats[key] == value, key


@pytest.mark.parametrize("case", CORPUS["encode"], ids=[c["frame"][:30] for c in CORPUS["encode"]])
def test_encode(case):
    frame = wire.encode(case["kind"], case["id"], case["name"], case["body"])
    assert frame == case["frame"].encode()
    [msg] = wire.Decoder().feed(frame)
    assert (msg.kind, msg.id, msg.name, msg.body) == (case["kind"], case["id"], case["name"], case["body"])
