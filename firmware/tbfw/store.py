# Session records on the flash filesystem, safe against a power cut at any
# byte. docs/store.md describes the scheme; in short:
#
# One file per record in the store directory, named by a sequence number
# (the order records were saved) and a state suffix:
#
#   00000012.t   being written (temporary); 8 digits or more, canonical
#   00000012.u   committed, not yet synced to the host
#   00000012.s   committed and synced (acknowledged by the host)
#   00000012.b   failed its check; kept out of every listing
#   drops.json   lifetime count of records lost, by reason (+ drops.t)
#
# A record is written to its .t file, closed (littlefs commits on close),
# then renamed to .u: os.rename replaces atomically on littlefs, so after a
# cut the record is either wholly there or only a .t file that the next
# open() discards. Marking synced is one more rename (.u -> .s). Earlier
# files are never opened for writing again, so a cut cannot reach them.
#
# File layout (little-endian):
#   0   4  magic b"TBr1"
#   4   4  sequence number (equal to the file name's)
#   8   4  data length L
#   12  1  id length N (1..64)
#   13  N  record id (printable ASCII)
#   ..  L  data (opaque to the store: the app's JSON session record)
#   ..  4  CRC-32 of every byte before it
# Bytes after the CRC (a garbage tail) are ignored.
#
# The store keeps no file open between calls, so stopping at any point (a
# Ctrl-C included) leaves nothing that the next open() cannot recover; the
# app should still call close() in a `finally`, after which it refuses
# writes.

import binascii
import io
import os
import struct

from tbfw import ondemand
from tbfw.storeformat import (
    COUNT_MAX,
    DROP_INCOMPLETE,  # noqa: F401 (store.DROP_INCOMPLETE, beside the other reasons)
    DROPS_FILE,
    HEAD_BYTES,
    MAX_ID,
    RECENT_DROPS,
    SEQ_LIMIT,
    TAIL_BYTES,
    StoreCorrupt,
    StoreError,
    _Rec,
)

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython (host tests)
    def const(value):
        return value

MAGIC = b"TBr1"
_READ_CHUNK = const(256)
_ENOSPC = const(28)
_SINK_BYTES = const(256)  # write-combining block of _Sink
_ENOENT = const(2)
_RESERVE_BLOCKS = const(4)  # flash blocks left free for the filesystem itself

# Reasons a record is lost (keys of counters()["dropped_by"]); DROP_INCOMPLETE,
# which the recovery scan counts, is in tbfw.storeformat.
DROP_CORRUPT = "corrupt"  # failed its check on open or on read
DROP_EVICTED = "evicted-unsynced"  # deleted unsynced to make room
DROP_TOO_LARGE = "too-large"  # refused: larger than the store may hold
DROP_WRITE_FAILED = "write-failed"  # the filesystem refused the write


class StoreFull(StoreError):
    """A record cannot be kept even after making room."""


class StoreExists(StoreError):
    """A record of that id is stored and not yet synced: never overwritten."""


class _Sink(io.IOBase):
    """A stream that counts what is written to it and, given a file, keeps
    its CRC-32 and passes it on in blocks of _SINK_BYTES. json.dump writes
    a few bytes at a time: a CRC per write would make a long int each time
    on a 32-bit port, and a write to flash each time costs more than the
    byte loop here. Call finish() after the last write."""

    def __init__(self, f=None, crc=0):
        self.f = f
        self.n = 0
        self.crc = crc
        self._buf = bytearray(_SINK_BYTES) if f is not None else None
        self._pos = 0

    def write(self, buf):
        if isinstance(buf, str):  # CPython's json.dump writes text
            buf = buf.encode()
        self.n += len(buf)
        out = self._buf
        if out is not None:
            pos = self._pos
            for b in buf:
                out[pos] = b
                pos += 1
                if pos == _SINK_BYTES:
                    self._flush(out)  # the whole block: no view of it to make
                    pos = 0
            self._pos = pos
        return len(buf)

    def _flush(self, data):
        self.crc = binascii.crc32(data, self.crc)
        self.f.write(data)

    def finish(self):
        if self._pos and self._buf is not None:
            self._flush(memoryview(self._buf)[:self._pos])
            self._pos = 0


class OsFs:
    """The filesystem operations the store uses (replaceable in tests)."""

    def open(self, path, mode):
        return open(path, mode)

    def rename(self, old, new):
        os.rename(old, new)

    def remove(self, path):
        os.remove(path)

    def listdir(self, path):
        return os.listdir(path)

    def mkdir(self, path):
        os.mkdir(path)

    def size(self, path):
        return os.stat(path)[6]

    def statvfs(self, path):
        return os.statvfs(path)

    def isdir(self, path):
        try:
            return os.stat(path)[0] & 0x4000 != 0
        except OSError:
            return False


def is_record_id(value):
    """What a record id can be: a string of 1..MAX_ID printable ASCII
    characters without spaces (the link refuses anything else from the wire)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        return False
    for ch in value:
        if not " " < ch <= "~":
            return False
    return True


def _check_id(rec_id):
    if not is_record_id(rec_id):
        raise ValueError("record id must be 1..%d printable ASCII characters without spaces" % MAX_ID)


class RecordReader:
    """A checked record read in pieces (Store.open_read). Each read opens
    and closes the file, as the store keeps none open between calls; a
    record acknowledged meanwhile is found under its new name. OSError if
    it is gone."""

    def __init__(self, store, seq, start, size, crc):
        self._store = store
        self._seq = seq
        self._start = start
        self.size = size
        self.crc = crc  # CRC-32 of the data, checked against the file's

    def read_into(self, offset, buf):
        """Bytes from `offset` into buf (up to its length); returns the count."""
        n = min(len(buf), self.size - offset)
        if n <= 0:
            return 0
        fs = self._store.fs
        try:
            f = fs.open(self._store._path(self._seq, "u"), "rb")
        except OSError:
            f = fs.open(self._store._path(self._seq, "s"), "rb")
        try:
            f.seek(self._start + offset)
            return f.readinto(memoryview(buf)[:n])
        finally:
            f.close()


class Store:
    """scan=False: no recovery scan here (last_scan stays None); the owner
    calls scan() before anything else (the app, after App(board):
    tbfw.bootlog)."""

    def __init__(self, root, max_records=200, max_flash_pct=50, max_record_bytes=32768, fs=None, scan=True):
        self.root = root
        self.max_records = max_records
        self.max_flash_pct = max_flash_pct
        self.max_record_bytes = max_record_bytes
        self.fs = fs if fs is not None else OsFs()
        self._closed = False
        self._recs = {}  # id -> _Rec
        self._blind = False  # the directory could not be listed: no saves
        self._bad = {}  # seq -> usage of quarantined files
        self._next_seq = 1
        self._block = 4096
        self._drops = {}
        self._recent = []
        self.last_scan = None
        try:
            self.fs.mkdir(root)
        except OSError:
            pass
        if scan:
            self.scan()

    # -- paths and sizes ---------------------------------------------------

    def _path(self, seq, ext):
        return "%s/%08d.%s" % (self.root, seq, ext)

    def _usage(self, nbytes):
        block = self._block
        return (nbytes + block - 1) // block * block

    def _fs_free(self):
        try:
            st = self.fs.statvfs(self.root)
        except OSError:
            return None
        if st[0]:
            self._block = st[0]
        return st[1] * st[4]

    def used_bytes(self):
        used = 0
        for rec in self._recs.values():
            used += rec.usage
        for usage in self._bad.values():
            used += usage
        return used

    def budget_bytes(self, max_flash_pct=None):
        """Flash the store may use now: its share of (free + its own)."""
        return self._budget(max_flash_pct, self._fs_free())

    def _budget(self, max_flash_pct, free):
        # free: the filesystem's free bytes (None: unknown), asked once by
        # the caller; statvfs walks littlefs's blocks
        used = self.used_bytes()
        if free is None:
            return used
        pool = free + used
        pct = self.max_flash_pct if max_flash_pct is None else max_flash_pct
        return min(pool * pct // 100, pool - _RESERVE_BLOCKS * self._block)

    def evictions(self, max_records=None, max_flash_pct=None, saves=1):
        """How many unsynced records the next `saves` saves would evict
        under these bounds (default: the store's own), each new record as
        large as the largest stored one. 0 means no session is lost."""
        limit = self.max_records if max_records is None else max_records
        budget = self.budget_bytes(max_flash_pct)
        need = self._block
        for rec in self._recs.values():
            need = max(need, rec.usage)
        count = len(self._recs) + saves
        used = self.used_bytes() + saves * need
        for usage in self._bad.values():
            used -= usage  # quarantined files go first
        if count <= limit and used <= budget:
            return 0  # the usual answer, without a sorted copy (called after every ack)
        lost = 0
        for rec in sorted(self._recs.values(), key=_eviction_order):
            if count <= limit and used <= budget:
                break
            count -= 1
            used -= rec.usage
            if not rec.synced:
                lost += 1
        return lost

    # -- recovery ------------------------------------------------------------

    def scan(self):
        """Rebuild the index from the directory, recovering from a cut.

        Returns a report {"kept", "dropped": [[id or file, reason], ...],
        "promoted", "notes"}, also kept as last_scan. Losses are also added
        to the drop counters. The code is tbfw.storescan, loaded for the
        scan (tbfw.ondemand): it runs once, at boot.
        """
        self.last_scan = ondemand.call("storescan", "scan", self)
        return self.last_scan

    def _quarantine(self, seq, ext, rec_id, report):
        self._count_drop(rec_id, DROP_CORRUPT, report)
        path = self._path(seq, ext)
        try:
            self.fs.rename(path, self._path(seq, "b"))
            self._bad[seq] = self._usage(self._file_size(self._path(seq, "b")))
        except OSError:
            self._remove(path)

    def _file_size(self, path):
        try:
            return self.fs.size(path)
        except OSError:
            return 0

    def _remove(self, path):
        try:
            self.fs.remove(path)
        except OSError:
            pass

    def _check(self, path, seq):
        """(id, data length, id length, CRC-32 of the data alone) of a file
        that passes its check, read in _READ_CHUNK pieces. Raises
        StoreCorrupt, naming the record id when it could be read and the
        file name otherwise."""
        label = path[len(self.root) + 1:]
        try:
            f = self.fs.open(path, "rb")
        except OSError:
            raise StoreCorrupt(label, "cannot be opened")
        try:
            return self._check_open(f, label, seq)
        except OSError as exc:  # a read error (a directory, a bad block)
            raise StoreCorrupt(label, "cannot be read (%s)" % exc)
        finally:
            f.close()

    def _check_open(self, f, label, seq):
        head = f.read(HEAD_BYTES)
        if len(head) < HEAD_BYTES or head[:4] != MAGIC:
            raise StoreCorrupt(label, "bad header")
        file_seq, length, id_len = struct.unpack("<IIB", head[4:])
        if file_seq != seq or not 0 < id_len <= MAX_ID or length > self.max_record_bytes:
            raise StoreCorrupt(label, "bad header")
        raw_id = f.read(id_len)
        if len(raw_id) < id_len:
            raise StoreCorrupt(label, "cut short")
        rec_id = _printable(raw_id, None)
        if rec_id is None:
            raise StoreCorrupt(label, "bad record id")
        label = rec_id
        crc = binascii.crc32(raw_id, binascii.crc32(head))
        dcrc = 0
        got = 0
        view = memoryview(bytearray(_READ_CHUNK))
        while got < length:
            n = f.readinto(view[:min(_READ_CHUNK, length - got)])
            if not n:
                break
            crc = binascii.crc32(view[:n], crc)
            dcrc = binascii.crc32(view[:n], dcrc)
            got += n
        stored = f.read(TAIL_BYTES)
        if got < length or len(stored) < TAIL_BYTES:
            raise StoreCorrupt(label, "cut short")
        if struct.unpack("<I", stored)[0] != crc & 0xFFFFFFFF:
            raise StoreCorrupt(label, "checksum mismatch")
        return rec_id, length, id_len, dcrc

    # -- drop counters ------------------------------------------------------

    def _save_drops(self):
        import json

        tmp = self.root + "/drops.t"
        try:
            f = self.fs.open(tmp, "w")
            try:
                f.write(json.dumps({"by": self._drops, "recent": self._recent}))
            finally:
                f.close()
            self.fs.rename(tmp, self.root + "/" + DROPS_FILE)
        except OSError:
            pass  # still counted in RAM and reported until the next reboot

    def _count_drop(self, rec_id, reason, report=None):
        """Count a loss and save the count, before the file goes: a cut in
        between may count a loss twice, never miss one."""
        self._drops[reason] = min(COUNT_MAX, self._drops.get(reason, 0) + 1)
        self._recent.append([rec_id, reason])
        if len(self._recent) > RECENT_DROPS:
            self._recent.pop(0)
        if report is not None:
            report["dropped"].append([rec_id, reason])
        self._save_drops()

    # -- records --------------------------------------------------------------

    def _open_check(self):
        if self._closed:
            raise StoreError("the store is closed")

    def add(self, rec_id, data):
        """Save `data` (bytes) as record `rec_id`; see add_from."""
        data = bytes(data)
        return self.add_from(rec_id, lambda out: out.write(data))

    def add_from(self, rec_id, emit):
        """Save as record `rec_id` what emit(stream) writes to a stream
        (its write(bytes) method), replacing a record of that id; returns
        the file's sequence number. emit is called twice (the length goes in
        the header, ahead of the data) and must write the same bytes both
        times: a record never has to be in the heap whole.

        Makes room first: corrupt files, then synced records, then the
        oldest unsynced records (each such loss is counted as a drop).
        Raises StoreFull if the record cannot fit at all, StoreExists if a
        record of that id is stored unsynced (it is never overwritten).
        """
        self._open_check()
        _check_id(rec_id)
        old = self._recs.get(rec_id)
        if old is not None and not old.synced:
            raise StoreExists("record %s is stored and not yet synced" % rec_id)
        if self._blind:
            self._count_drop(rec_id, DROP_WRITE_FAILED)
            raise StoreError("record %s not saved: the store's folder could not be listed" % rec_id)
        count = _Sink()
        emit(count)
        length = count.n
        total = HEAD_BYTES + len(rec_id) + length + TAIL_BYTES
        if length > self.max_record_bytes:
            self._count_drop(rec_id, DROP_TOO_LARGE)
            raise StoreFull("record %s: %d bytes, the most is %d" % (rec_id, length, self.max_record_bytes))
        self._make_room(rec_id, self._usage(total))
        seq = self._take_seq()
        tmp = self._path(seq, "t")
        try:
            self._write(tmp, seq, rec_id, length, emit)
        except StoreError:
            self._remove(tmp)
            raise
        except OSError as exc:
            self._remove(tmp)
            if exc.args and exc.args[0] == _ENOSPC and self._evict_one(rec_id):
                return self.add_from(rec_id, emit)
            self._count_drop(rec_id, DROP_WRITE_FAILED)
            raise StoreError("record %s not saved: %s" % (rec_id, exc))
        self.fs.rename(tmp, self._path(seq, "u"))
        old = self._recs.get(rec_id)
        self._recs[rec_id] = _Rec(seq, rec_id, False, length, self._usage(total))
        if old is not None:
            self._remove(self._path(old.seq, "s" if old.synced else "u"))
        return seq

    def _take_seq(self):
        """The next sequence number. Past SEQ_LIMIT (only a file put there
        by hand gets that far) the lowest unused number: the record keeps
        its place in the store, only its place in the order is wrong."""
        seq = self._next_seq
        if seq <= SEQ_LIMIT:
            self._next_seq = seq + 1
            return seq
        used = set(self._bad)
        for rec in self._recs.values():
            used.add(rec.seq)
        seq = 1
        while seq in used:
            seq += 1
        return seq

    def size(self, rec_id):
        """Data length of record `rec_id` in bytes (KeyError if there is none)."""
        return self._recs[rec_id].size

    def _write(self, path, seq, rec_id, length, emit):
        raw_id = rec_id.encode()
        head = MAGIC + struct.pack("<IIB", seq, length, len(raw_id))
        f = self.fs.open(path, "wb")
        try:
            f.write(head)
            f.write(raw_id)
            out = _Sink(f, binascii.crc32(raw_id, binascii.crc32(head)))
            emit(out)
            out.finish()
            if out.n != length:  # the .t file is discarded like a cut one
                raise StoreError("record %s: %d bytes written, %d counted" % (rec_id, out.n, length))
            f.write(struct.pack("<I", out.crc & 0xFFFFFFFF))
            f.flush()
        finally:
            f.close()

    def _make_room(self, rec_id, need):
        budget = self.budget_bytes()
        if need > budget:
            self._count_drop(rec_id, DROP_TOO_LARGE)
            raise StoreFull("record %s (%d bytes) does not fit in the store's %d bytes" % (rec_id, need, budget))
        old = self._recs.get(rec_id)
        freed = old.usage if old is not None else 0  # the copy this one replaces
        while len(self._recs) + (0 if old is not None else 1) > self.max_records \
                or self.used_bytes() - freed + need > budget:
            if not self._evict_one(rec_id):
                break  # only the replaced copy is left; it goes after the write

    def _evict_one(self, keep_id):
        """Delete one file to make room; False when nothing may go."""
        if self._bad:
            seq = min(self._bad)
            self._remove(self._path(seq, "b"))
            del self._bad[seq]
            return True
        victim = None
        for rec in self._recs.values():
            if rec.rec_id == keep_id:
                continue
            if victim is None or (rec.synced, -rec.seq) > (victim.synced, -victim.seq):
                victim = rec
        if victim is None:
            return False
        if not victim.synced:
            self._count_drop(victim.rec_id, DROP_EVICTED)
        del self._recs[victim.rec_id]
        self._remove(self._path(victim.seq, "s" if victim.synced else "u"))
        return True

    def open_read(self, rec_id):
        """Record `rec_id`, checked, for reading in pieces: a RecordReader
        (size, crc of the data, read_into). KeyError if there is none;
        StoreCorrupt (and the record is quarantined) if it fails its check:
        corrupt data is never returned. Only a _READ_CHUNK buffer is used,
        whatever the record's size."""
        self._open_check()
        rec = self._recs[rec_id]
        ext = "s" if rec.synced else "u"
        path = self._path(rec.seq, ext)
        try:
            got_id, length, id_len, dcrc = self._check(path, rec.seq)
            if got_id != rec_id or length != rec.size:
                raise StoreCorrupt(rec_id, "does not match the index")
        except StoreCorrupt as exc:
            del self._recs[rec_id]
            self._quarantine(rec.seq, ext, rec_id, None)
            raise StoreCorrupt(rec_id, exc.reason)
        return RecordReader(self, rec.seq, HEAD_BYTES + id_len, length, dcrc & 0xFFFFFFFF)

    def ack(self, rec_id):
        """Mark a record synced; True if it was unsynced. KeyError if unknown."""
        self._open_check()
        rec = self._recs[rec_id]
        if rec.synced:
            return False
        try:
            self.fs.rename(self._path(rec.seq, "u"), self._path(rec.seq, "s"))
        except OSError as exc:
            raise StoreError("record %s not marked synced: %s" % (rec_id, exc))
        rec.synced = True
        return True

    def records(self):
        """[{id, size, synced, seq}], oldest first."""
        out = []
        for rec in sorted(self._recs.values(), key=_by_seq):
            out.append({"id": rec.rec_id, "size": rec.size, "synced": rec.synced, "seq": rec.seq})
        return out

    def __contains__(self, rec_id):
        return rec_id in self._recs

    def counters(self):
        unsynced = 0
        for rec in self._recs.values():
            if not rec.synced:
                unsynced += 1
        dropped = 0
        for reason in self._drops:
            dropped += self._drops[reason]
        free = self._fs_free()
        return {
            "stored": len(self._recs),
            "unsynced": unsynced,
            "corrupt_kept": len(self._bad),
            "dropped": dropped,
            "dropped_by": dict(self._drops),
            "recent_drops": [list(d) for d in self._recent],
            "used_bytes": self.used_bytes(),
            "budget_bytes": self._budget(None, free),
            "free_bytes": free if free is not None else -1,
            "max_records": self.max_records,
        }

    def close(self):
        """Refuse further changes. Safe to call at any time, more than once."""
        self._closed = True

    @property
    def closed(self):
        return self._closed


def _by_seq(rec):
    return rec.seq


def _eviction_order(rec):
    return (not rec.synced, rec.seq)  # synced first, then oldest first


def _printable(raw, fallback):
    try:
        text = raw.decode()
        _check_id(text)
        return text
    except (ValueError, UnicodeError):
        return fallback
