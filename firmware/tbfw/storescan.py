# The store's recovery scan (tbfw.store.Store.scan): rebuild the index from
# the directory after a cut at any byte, and read the drop counters back.
# It runs once, at boot: the store loads this module for the scan and
# releases it after (tbfw.ondemand). It imports tbfw.storeformat, not the
# store. docs/store.md gives the scheme.

import json

from tbfw.storeformat import (
    COUNT_MAX,
    DROP_INCOMPLETE,
    DROPS_FILE,
    HEAD_BYTES,
    MAX_ID,
    RECENT_DROPS,
    SEQ_LIMIT,
    TAIL_BYTES,
    StoreCorrupt,
    _Rec,
)

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython (host tests)
    def const(value):
        return value

_SEQ_DIGITS = const(8)  # at least; more once the sequence passes 99999999
_DROPS_MAX_BYTES = const(2048)  # a larger drops.json is not ours: counted as lost
_DROP_REASONS = ("incomplete", "corrupt", "evicted-unsynced", "too-large", "write-failed", "counter-file-lost")


def scan(store):
    """Rebuild the index from the directory, recovering from a cut.

    Returns a report {"kept", "dropped": [[id or file, reason], ...],
    "promoted", "notes"}. Losses are also added to the drop counters.
    """
    store._recs = {}
    store._bad = {}
    store._blind = False
    load_drops(store)
    report = {"kept": 0, "dropped": [], "promoted": 0, "notes": []}
    files = {}  # seq -> set of suffixes
    top = 0
    for name in _listdir(store, report):
        seq = _seq_of(name)
        if seq is None:
            if name == "drops.t":
                store._remove(store.root + "/" + name)
            continue
        files.setdefault(seq, []).append(name[-1])
        top = max(top, seq)
    store._next_seq = top + 1
    store._fs_free()
    for seq in sorted(files):
        _recover(store, seq, files[seq], report)
    report["kept"] = len(store._recs)
    return report


def _listdir(store, report):
    """The store directory's names. When the root is not a directory
    (a file of that name, say) it is moved aside, or else removed, and
    made again: that costs the file, never the boot."""
    try:
        return store.fs.listdir(store.root)
    except OSError as exc:
        if store.fs.isdir(store.root):  # a read error: keep it, try again at the next boot
            report["notes"].append("%s cannot be listed (%s): no saves until a boot lists it"
                                   % (store.root, exc))
            store._blind = True  # a new file could take the name of one not seen
            return []
    aside = store.root + ".bad"
    try:
        store.fs.rename(store.root, aside)
    except OSError:
        store._remove(aside)  # an older one in the way: the newer wins
        try:
            store.fs.rename(store.root, aside)
        except OSError:
            store._remove(store.root)
    report["notes"].append("%s was not a directory: moved to %s" % (store.root, aside))
    try:
        store.fs.mkdir(store.root)
        return store.fs.listdir(store.root)
    except OSError as exc:
        report["notes"].append("no store directory: %s" % exc)
        return []


def _recover(store, seq, exts, report):
    # Candidates, best first: a synced copy wins over the unsynced file it
    # was renamed from, which wins over the temporary it was renamed from.
    # Two at once, or a bad one beside a good one, means a rename was cut
    # short on a filesystem that copies; the first good one is kept. A
    # quarantined file (.b) beside them is the copy of one that failed
    # (a quarantine cut short): a good one still wins over it, and a bad
    # one goes without a second count.
    bad = "b" in exts
    order = [ext for ext in ("s", "u", "t") if ext in exts]
    found = None
    for i, ext in enumerate(order):
        path = store._path(seq, ext)
        if found is not None:
            store._remove(path)
            continue
        try:
            rec_id, size, tail, usage = _verify(store, path, seq)
        except StoreCorrupt as exc:
            if ext == "t":
                store._count_drop(exc.rec_id, DROP_INCOMPLETE, report)
                store._remove(path)
            elif i + 1 < len(order) or bad:
                store._remove(path)
            else:
                store._quarantine(seq, ext, exc.rec_id, report)
            continue
        if ext == "t":
            try:
                store.fs.rename(path, store._path(seq, "u"))
            except OSError as exc:  # the name is taken by what cannot be removed
                report["notes"].append("%s: %s left as it is (%s)" % (rec_id, path, exc))
                continue
            report["promoted"] += 1
            ext = "u"
        if tail:
            report["notes"].append("%s: %d stray bytes after the record ignored" % (rec_id, tail))
        found = _Rec(seq, rec_id, ext == "s", size, usage)
    if bad:
        if found is None:
            store._bad[seq] = store._usage(store._file_size(store._path(seq, "b")))
        else:
            store._remove(store._path(seq, "b"))
    if found is None:
        return
    old = store._recs.get(found.rec_id)
    if old is not None:
        # The older copy of a replaced record: the newer one is complete.
        store._remove(store._path(old.seq, "s" if old.synced else "u"))
    store._recs[found.rec_id] = found


def _verify(store, path, seq):
    """Check one file; return (id, data length, bytes after the record,
    flash bytes the file takes)."""
    rec_id, length, id_len, _dcrc = store._check(path, seq)
    size = store._file_size(path)
    record = HEAD_BYTES + id_len + length + TAIL_BYTES
    return rec_id, length, max(0, size - record), store._usage(max(size, record))


def load_drops(store):
    """The saved drop counters. Whatever the file holds (any size, any
    JSON, numbers out of range), it costs at most the counters: they
    restart at "counter-file-lost" 1."""
    store._drops = {}
    store._recent = []
    path = store.root + "/" + DROPS_FILE
    try:
        f = store.fs.open(path, "r")
    except OSError:
        return
    try:
        text = f.read(_DROPS_MAX_BYTES + 1)
    except (OSError, ValueError):  # unreadable, or not text
        text = None
    finally:
        f.close()
    if text is None or len(text) > _DROPS_MAX_BYTES or not _parse_drops(text, store._drops, store._recent):
        store._drops = {"counter-file-lost": 1}
        store._recent = []


def _seq_of(name):
    """The sequence number of a record file's name, or None: at least
    _SEQ_DIGITS digits, no extra leading zeros (the name _path gives), a
    state suffix, and a number a header holds (1 to SEQ_LIMIT)."""
    n = len(name) - 2
    if n < _SEQ_DIGITS or n > 10 or name[n] != "." or name[-1] not in "tusb":
        return None
    for i in range(n):
        if not "0" <= name[i] <= "9":
            return None
    if n > _SEQ_DIGITS and name[0] == "0":
        return None
    seq = int(name[:n])
    if not 0 < seq <= SEQ_LIMIT:
        return None
    return seq


def _parse_drops(text, drops, recent):
    """Fill drops and recent from the text of drops.json; False if it is
    not what _save_drops writes (known reasons, counts 0..COUNT_MAX,
    at most RECENT_DROPS [id, reason] pairs of short strings)."""
    try:
        saved = json.loads(text)
    except ValueError:
        return False
    if not isinstance(saved, dict):
        return False
    by = saved.get("by")
    got = saved.get("recent")
    if not isinstance(by, dict) or not isinstance(got, list) or len(got) > RECENT_DROPS:
        return False
    for reason in by:
        count = by[reason]
        if reason not in _DROP_REASONS or isinstance(count, bool) or not isinstance(count, int) \
                or not 0 <= count <= COUNT_MAX:
            return False
        drops[reason] = count
    for entry in got:
        if not isinstance(entry, list) or len(entry) != 2 or entry[1] not in _DROP_REASONS \
                or not isinstance(entry[0], str) or not 0 < len(entry[0]) <= MAX_ID:
            return False
        recent.append([entry[0], entry[1]])
    return True
