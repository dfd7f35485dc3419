# The wire format of the serial link: one implementation, run by the device
# (MicroPython) and by the host tool (CPython, through talkbalance.fw).
# docs/protocol.md is the specification; this module is its reference.
#
# A frame is one line of printable ASCII (0x20..0x7e) ended by "\n" (a "\r"
# before it is ignored):
#
#   @tb1 <kind> <id> <name> <json> <crc>
#
#   @tb1   marker and protocol major version
#   kind   req (host -> device), ok, err, part (a chunk of a larger answer),
#          evt (unsolicited, id 0)
#   id     request id, decimal 0..999999999; answers echo the request's id
#   name   command (req, ok, part, evt) or error code (err), [a-z][a-z0-9_-]*
#   json   a JSON object, printable ASCII (other characters as \uXXXX)
#   crc    CRC-32 of every byte before it (from "@" to the space before the
#          crc), 8 lowercase hex digits
#
# Control bytes never appear in a frame, so Ctrl-C, Ctrl-A and Ctrl-D keep
# their REPL meaning. Anything that is not a valid frame (log lines, garbage,
# frames with a bad checksum, lines longer than MAX_LINE) is skipped and
# counted by the Decoder.

import binascii
import json

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython (host tool)
    def const(value):
        return value

PROTOCOL = 1
MARKER = b"@tb1 "
MAX_LINE = const(1024)  # bytes per frame, "\n" included (a "\r" before it may exceed)
CHUNK_BYTES = const(240)  # record bytes per part frame (320 in base64)
_MAX_ID = const(999999999)
_MAX_NAME = const(24)
_CRC_HEX = const(8)
_MAX_MSG = const(300)  # characters of an error message (fits MAX_LINE)
_MAX_TRIES = const(3)  # markers tried per line (bounds the work on garbage)

KINDS = ("req", "ok", "err", "part", "evt")

# Error codes (the name of an err frame).
E_BAD_FRAME = "bad-request"  # a req frame whose body does not fit the command
E_UNKNOWN = "unknown-command"
E_BAD_ARG = "bad-argument"
E_CONFIG = "bad-config"
E_NOT_FOUND = "not-found"
E_CORRUPT = "corrupt"
E_BUSY = "busy"
E_CANCELLED = "cancelled"
E_STORE = "store"
E_WOULD_EVICT = "would-evict"  # a config change would delete unsynced sessions
E_INTERNAL = "internal"


class WireError(ValueError):
    """A frame cannot be encoded (too long, bad name or id, bad payload)."""


class Message:
    """A decoded frame: kind, id, name and body (a dict)."""

    __slots__ = ("kind", "id", "name", "body")

    def __init__(self, kind, ident, name, body):
        self.kind = kind
        self.id = ident
        self.name = name
        self.body = body

    def __eq__(self, other):
        return (isinstance(other, Message) and self.kind == other.kind and self.id == other.id
                and self.name == other.name and self.body == other.body)

    def __repr__(self):
        return "Message(%r, %r, %r, %r)" % (self.kind, self.id, self.name, self.body)


def _valid_name(name):
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME:
        return False
    first = name[0]
    if not "a" <= first <= "z":
        return False
    for ch in name:
        if not ("a" <= ch <= "z" or "0" <= ch <= "9" or ch == "_" or ch == "-"):
            return False
    return True


def _ascii_json(obj):
    """JSON text of `obj` with every character outside 0x20..0x7e escaped.

    Both json modules already escape control characters; what is left is
    DEL and non-ASCII text (CPython escapes it, MicroPython does not).
    """
    text = json.dumps(obj)
    if len(text.encode()) == len(text) and "\x7f" not in text:
        if "\\ud" in text:
            _refuse_surrogates(text)
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0x20 <= code <= 0x7E:
            out.append(ch)
        elif code > 0xFFFF:
            # MicroPython's json does not join surrogate pairs: refuse rather
            # than decode differently on the two sides.
            raise WireError("characters beyond U+FFFF cannot be sent")
        else:
            out.append("\\u%04x" % code)
    return "".join(out)


def _refuse_surrogates(text):
    """CPython writes characters beyond U+FFFF as \\ud8xx\\udcxx pairs."""
    pos = text.find("\\ud")
    while pos >= 0:
        slashes = 0
        while pos - slashes - 1 >= 0 and text[pos - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2 == 0 and text[pos + 3:pos + 4] in ("8", "9", "a", "b", "c", "d", "e", "f"):
            raise WireError("characters beyond U+FFFF cannot be sent")
        pos = text.find("\\ud", pos + 1)


def crc_hex(data):
    return crc_text(binascii.crc32(data))


def crc_text(crc):
    """A CRC-32 value as the frame writes it: 8 lowercase hex digits."""
    return "%08x" % (crc & 0xFFFFFFFF)


def encode(kind, ident, name, body=None):
    """One frame as bytes, "\n" included. Raises WireError if it cannot be sent."""
    if kind not in KINDS:
        raise WireError("unknown kind %r" % (kind,))
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= _MAX_ID:
        raise WireError("id must be 0..%d" % _MAX_ID)
    if not _valid_name(name):
        raise WireError("bad name %r" % (name,))
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise WireError("body must be a dict")
    try:
        text = _ascii_json(body)
    except TypeError as exc:
        raise WireError("body is not JSON: %s" % exc)
    # Built from its parts with one copy of the body (a frame is the largest
    # string the device makes: fewer copies, less heap fragmentation).
    prefix = ("@tb%d %s %d %s " % (PROTOCOL, kind, ident, name)).encode()
    payload = text.encode()  # MicroPython shares the str's bytes: no copy
    size = len(prefix) + len(payload) + _CRC_HEX + 2  # " " before the crc, "\n" after
    if size > MAX_LINE:
        raise WireError("frame of %d bytes is over the %d-byte limit" % (size, MAX_LINE))
    crc = binascii.crc32(b" ", binascii.crc32(payload, binascii.crc32(prefix)))
    return b"".join((prefix, payload, b" ", crc_text(crc).encode(), b"\n"))


def request(ident, name, args=None):
    return encode("req", ident, name, args)


def ok(ident, name, result=None):
    return encode("ok", ident, name, result)


def error(ident, code, message, detail=None):
    body = {"msg": message[:_MAX_MSG]}
    if detail is not None:
        body["detail"] = detail
    return encode("err", ident, code, body)


def event(name, body=None):
    return encode("evt", 0, name, body)


def b64(data):
    return binascii.b2a_base64(data).decode().rstrip("\n")


def part(ident, name, rec, offset, data):
    """A chunk of record `rec` (bytes `data` starting at `offset`)."""
    return encode("part", ident, name, {"rec": rec, "off": offset, "data": b64(data)})


def parse_line(line):
    """The Message in one line (bytes, no "\n"), or None if it is not a valid frame.

    The frame may be preceded by other text on the same line (a log line that
    lost its newline): markers are tried from the left until one parses (at
    most _MAX_TRIES of them, so a garbage line costs bounded work).
    """
    start = line.find(MARKER)
    tries = _MAX_TRIES
    while start >= 0 and tries:
        msg = _parse_at(line, start)
        if msg is not None:
            return msg
        tries -= 1
        start = line.find(MARKER, start + 1)
    return None


def _parse_at(line, start):
    end = len(line)
    if end - start < len(MARKER) + 14:
        return None
    sep = end - _CRC_HEX - 1
    if line[sep] != 0x20:
        return None
    crc = line[sep + 1:]
    for byte in crc:
        if not (0x30 <= byte <= 0x39 or 0x61 <= byte <= 0x66):
            return None
    head = line[start:sep + 1]
    for byte in head:
        if byte < 0x20 or byte > 0x7E:
            return None
    if crc_hex(head).encode() != crc:
        return None
    text = head[len(MARKER):-1].decode()
    fields = text.split(" ", 3)
    if len(fields) != 4:
        return None
    kind, ident, name, payload = fields
    if kind not in KINDS or not _valid_name(name):
        return None
    if not 0 < len(ident) <= 9 or (len(ident) > 1 and ident[0] == "0"):
        return None
    for ch in ident:
        if not "0" <= ch <= "9":
            return None
    if not payload.startswith("{"):
        return None
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return Message(kind, int(ident), name, body)


class Decoder:
    """Streaming frame decoder: feed(bytes) -> list of Messages.

    Works in chunks with bytes.find, so the cost is per line, not per byte.
    Memory is one MAX_LINE buffer; a longer line is dropped whole.
    Counters (attributes): frames, skipped (lines that were not frames:
    log lines, garbage, bad checksums), too_long, bytes_in.
    """

    def __init__(self, max_line=MAX_LINE):
        self.max_line = max_line
        self._buf = bytearray(max_line)
        self._fill = 0
        self._drop = False  # inside a line that is too long
        self.frames = 0
        self.skipped = 0
        self.too_long = 0
        self.bytes_in = 0

    def stats(self):
        return {"frames": self.frames, "skipped": self.skipped, "too_long": self.too_long,
                "bytes_in": self.bytes_in}

    def reset(self):
        self._fill = 0
        self._drop = False

    def feed(self, data, length=-1):
        """Decode the first `length` bytes of data (all when -1); returns
        the complete frames found, oldest first."""
        out = []
        total = len(data) if length < 0 else length
        self.bytes_in += total
        pos = 0
        while pos < total:
            nl = data.find(b"\n", pos, total)
            stop = total if nl < 0 else nl
            self._take(data, pos, stop)
            if nl < 0:
                break
            self._end_line(out)
            pos = nl + 1
        return out

    def _take(self, data, pos, stop):
        if self._drop or stop == pos:
            return
        size = stop - pos
        if self._fill + size > self.max_line:  # room for MAX_LINE - 1 and a "\r"
            self._drop = True
            self._fill = 0
            return
        self._buf[self._fill:self._fill + size] = memoryview(data)[pos:stop]
        self._fill += size

    def _end_line(self, out):
        if self._drop:
            self._drop = False
            self.too_long += 1
            return
        fill = self._fill
        self._fill = 0
        if fill and self._buf[fill - 1] == 0x0D:
            fill -= 1
        if not fill:
            return
        if self._buf.find(MARKER, 0, fill) < 0:  # most log lines and garbage
            self.skipped += 1
            return
        msg = parse_line(bytes(memoryview(self._buf)[:fill]))  # one copy, not two
        if msg is None:
            self.skipped += 1
        else:
            self.frames += 1
            out.append(msg)


class Assembler:
    """Joins the part frames of one chunked answer and checks the result.

    add(msg) for each part, then finish(ok_msg) returns the bytes, or raises
    WireError when a chunk is missing or the size or CRC-32 differ from the
    totals in the final ok frame. `next_offset` says where to resume with a
    new request after a lost chunk.
    """

    def __init__(self, rec, offset=0):
        self.rec = rec
        self.next_offset = offset
        self._parts = []

    def add(self, msg):
        body = msg.body
        if body.get("rec") != self.rec:
            raise WireError("part of record %r, expected %r" % (body.get("rec"), self.rec))
        if body.get("off") != self.next_offset:
            raise WireError("chunk at %r, expected %d" % (body.get("off"), self.next_offset))
        data = body.get("data")
        if not isinstance(data, str):
            raise WireError("chunk without data")
        try:
            raw = binascii.a2b_base64(data)
        except ValueError:
            raise WireError("chunk data is not base64")
        self._parts.append(raw)
        self.next_offset += len(raw)

    def finish(self, msg, prefix=b""):
        """The whole record; `prefix` is what an earlier, interrupted transfer got."""
        body = msg.body
        data = prefix + b"".join(self._parts)
        if body.get("size") != len(data):
            raise WireError("record %r: got %d bytes, expected %r" % (self.rec, len(data), body.get("size")))
        if body.get("crc") != crc_hex(data):
            raise WireError("record %r: CRC-32 mismatch" % (self.rec,))
        return data
