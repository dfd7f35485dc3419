"""A fixed corpus of decoder cases, shared by CPython and MicroPython.

Each case: name, the bytes fed (in the given chunk sizes) and the messages
that must come out, worked out from how the case is built (not by running
the decoder). `python tests/wire_corpus.py` writes tests/fixtures/
wire_corpus.json, which tests/test_wire_corpus.py checks is current and
tests/fw/fwtest_wire.py decodes under MicroPython.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "host"))

import talkbalance.fw  # noqa: E402,F401
from tbfw import wire  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "wire_corpus.json"


def _frame(kind: str, ident: int, name: str, body_json: str) -> bytes:
    """A frame built by hand from the spec (independent of wire.encode)."""
    head = f"@tb1 {kind} {ident} {name} {body_json} ".encode()
    return head + b"%08x\n" % (binascii.crc32(head) & 0xFFFFFFFF)


def build() -> list[dict]:
    rng = random.Random(6)
    cases: list[dict] = []

    def case(name, data, expect, stats=None, chunks=(0,)):
        cases.append({"name": name, "data": base64.b64encode(data).decode(), "chunks": list(chunks),
                      "expect": [list(m) for m in expect], "stats": stats or {}})

    hello = _frame("req", 1, "hello", '{"protocol": 1}')
    hello_m = ("req", 1, "hello", {"protocol": 1})
    okf = _frame("ok", 1, "hello", '{"device": "tb-01", "firmware": "0.1.0", "protocol": 1}')
    ok_m = ("ok", 1, "hello", {"device": "tb-01", "firmware": "0.1.0", "protocol": 1})
    err = _frame("err", 999999999, "bad-config", '{"msg": "frame_ms: must be from 10 to 32, not 99", '
                 '"detail": {"field": "frame_ms"}}')
    err_m = ("err", 999999999, "bad-config", {"msg": "frame_ms: must be from 10 to 32, not 99",
                                                "detail": {"field": "frame_ms"}})
    uni = _frame("evt", 0, "live", '{"who": "\\u00e9\\u4e2d", "n": [1, -2, true, false, null, 0.5]}')
    uni_m = ("evt", 0, "live", {"who": "\u00e9\u4e2d", "n": [1, -2, True, False, None, 0.5]})

    case("one frame", hello, [hello_m], {"frames": 1, "skipped": 0})
    case("crlf ending", hello[:-1] + b"\r\n", [hello_m], {"frames": 1})
    case("three frames", hello + okf + err, [hello_m, ok_m, err_m], {"frames": 3})
    case("escaped text and all value types", uni, [uni_m])
    case("byte at a time", hello + okf, [hello_m, ok_m], chunks=[1])
    case("odd chunks", err + uni + hello, [err_m, uni_m, hello_m], chunks=[7, 3, 50, 1])
    case("log lines between", b"I (1234) boot: ok\r\n" + hello + b"talkbalance 0.1.0 on tb\n\n" + okf,
         [hello_m, ok_m], {"frames": 2, "skipped": 2})
    case("log text glued before a frame", b"warn-frame-overrun 23ms " + hello, [hello_m])
    case("garbage bytes", bytes(rng.randrange(256) for _ in range(3000)).replace(b"@", b"?") + b"\n" + hello,
         [hello_m])
    case("ctrl bytes between", b"\r\x03\r\x01\x04" + b"\n" + hello + b"\x02\n", [hello_m])
    case("truncated frame then a good one", hello[:20] + b"\n" + okf, [ok_m], {"skipped": 1})
    case("frame cut before its checksum", hello[:-10] + b"\n", [], {"skipped": 1})
    case("frame without newline yet", hello[:-1], [], {"frames": 0})
    case("bad checksum", hello[:-3] + (b"0" if hello[-3:-2] != b"0" else b"1") + hello[-2:] + okf, [ok_m])
    lettered = next(f for f in (_frame("req", i, "info", "{}") for i in range(1, 99)) if not f[-9:-1].isdigit())
    case("uppercase checksum", lettered[:-9] + lettered[-9:-1].upper() + b"\n", [], {"skipped": 1})
    flipped = bytearray(okf)
    flipped[12] ^= 0x01
    case("one flipped bit", bytes(flipped) + hello, [hello_m])
    case("oversized line then a frame", b"x" * 2000 + b"\n" + hello, [hello_m], {"too_long": 1})
    case("oversized line in chunks", b"@tb1 " + b"y" * 1500 + b"\n" + hello, [hello_m], {"too_long": 1},
         chunks=[100])
    case("line one byte too long", b"z" * (wire.MAX_LINE + 1) + b"\n" + hello, [hello_m], {"too_long": 1})
    case("line at the limit", b"z" * wire.MAX_LINE + b"\n" + hello, [hello_m], {"too_long": 0, "skipped": 1})
    longest = _frame("ok", 5, "get", '{"pad": "' + "p" * (wire.MAX_LINE - 35) + '"}')
    assert len(longest) == wire.MAX_LINE, len(longest)
    longest_m = ("ok", 5, "get", {"pad": "p" * (wire.MAX_LINE - 35)})
    case("frame at the line limit", longest, [longest_m])
    case("frame at the line limit, crlf", longest[:-1] + b"\r\n", [longest_m])
    case("unknown kind", _frame("zap", 1, "hello", "{}"), [])
    case("id with leading zero", _frame("req", 1, "hello", "{}").replace(b" 1 ", b" 01 "), [])
    case("crc over a leading-zero id", _frame("req", 0, "hello", "{}").replace(b"req 0", b"req 00"), [])
    case("id too long", _frame("req", 1, "hello", "{}").replace(b" 1 ", b" 1234567890 "), [])
    case("crc-valid id too long", _frame("req", 1234567890, "hello", "{}"), [])
    case("crc-valid bad name", _frame("req", 1, "Hello", "{}"), [])
    case("crc-valid non-object body", _frame("req", 1, "hello", "[1, 2]"), [])
    case("crc-valid broken json", _frame("req", 1, "hello", '{"a": tru}'), [])
    case("crc-valid unquoted key", _frame("req", 1, "hello", "{a: 1}"), [])
    case("crc-valid trailing text", _frame("req", 1, "hello", '{"a": 1} x'), [])
    case("crc-valid control byte", _frame("req", 1, "hello", '{"a": "\x01"}'), [])
    case("other protocol version", _frame("req", 1, "hello", "{}").replace(b"@tb1", b"@tb2"), [])
    case("marker in a log line", b"@tb1 this is not a frame\n" + hello, [hello_m], {"skipped": 1})
    case("frame split by a log line", hello[:25] + b"\nlog\n" + hello[25:] + okf, [ok_m])
    return cases


def build_encode() -> list[dict]:
    """Frames both sides must encode byte for byte (one key per object, so
    the two json modules' key orders cannot differ)."""
    cases = []
    for kind, ident, name, body, text in (
        ("req", 1, "hello", {}, "{}"),
        ("req", 42, "get", {"rec": "tb01-3-7"}, '{"rec": "tb01-3-7"}'),
        ("ok", 999999999, "list", {"records": [1, "a", True, None, -7]}, '{"records": [1, "a", true, null, -7]}'),
        ("err", 3, "bad-config", {"msg": "unknown key"}, '{"msg": "unknown key"}'),
        ("evt", 0, "live", {"who": "caf\u00e9 \u4e2d\x7f"}, '{"who": "caf\\u00e9 \\u4e2d\\u007f"}'),
        ("ok", 9, "config", {"c": {"night": False}}, '{"c": {"night": false}}'),
        ("req", 5, "config-set", {"set": {"text": "tab\there \"q\" back\\"}},
         '{"set": {"text": "tab\\there \\"q\\" back\\\\"}}'),
    ):
        cases.append({"kind": kind, "id": ident, "name": name, "body": body,
                      "frame": _frame(kind, ident, name, text).decode()})
    return cases


def corpus() -> dict:
    return {"decode": build(), "encode": build_encode()}


def write() -> None:
    FIXTURE.write_text(json.dumps(corpus(), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write()
