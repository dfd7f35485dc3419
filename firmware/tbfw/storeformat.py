# What the store (tbfw.store) and its recovery scan (tbfw.storescan) both
# use: the on-flash format's limits, the drop counters' file and limits,
# the store's errors and its index entry. A module of its own so that the
# scan, loaded on demand at boot, does not import the store that loads it.
# docs/store.md describes the scheme.

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython (host tests)
    def const(value):
        return value

MAX_ID = const(64)
HEAD_BYTES = const(13)  # a record file's bytes before the id
TAIL_BYTES = const(4)  # and after the data: the CRC
SEQ_LIMIT = 0xFFFFFFFF  # the header's u32; past it, the lowest free number is taken
RECENT_DROPS = const(8)  # dropped record ids remembered for the host
COUNT_MAX = const(0x3FFFFFFF)  # a drop count never goes past this
DROPS_FILE = "drops.json"
DROP_INCOMPLETE = "incomplete"  # a write cut short (power, reset)


class StoreError(Exception):
    """The store cannot do what was asked (closed, full, filesystem error)."""


class StoreCorrupt(StoreError):
    """A stored record failed its check; it is quarantined, never returned."""

    def __init__(self, rec_id, reason):
        super().__init__("record %s: %s" % (rec_id, reason))
        self.rec_id = rec_id
        self.reason = reason


class _Rec:
    __slots__ = ("seq", "rec_id", "synced", "size", "usage")

    def __init__(self, seq, rec_id, synced, size, usage):
        self.seq = seq
        self.rec_id = rec_id
        self.synced = synced
        self.size = size  # data bytes
        self.usage = usage  # flash bytes, whole blocks
