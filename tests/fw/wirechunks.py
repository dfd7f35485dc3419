# The wire decoder fed in pieces: shared by the corpus tests under MicroPython
# (tests/fw/fwtest_wire.py) and CPython (tests/test_wire_corpus.py). Imports
# nothing but tbfw.wire, so the MicroPython test keeps its small heap.
from tbfw import wire


def decode_in_chunks(data, chunks):
    """Feed data to a fresh Decoder in pieces of the given sizes (cycled; 0
    means all at once): the frames as [kind, id, name, body], and its stats."""
    dec = wire.Decoder()
    out = []
    pos = i = 0
    while pos < len(data):
        size = chunks[i % len(chunks)] or len(data)
        out += dec.feed(data[pos:pos + size])
        pos += size
        i += 1
    return [[m.kind, m.id, m.name, m.body] for m in out], dec.stats()
