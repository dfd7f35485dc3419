# The session store under power cuts, half-done renames, garbage tails and
# flipped bits, on the MicroPython unix port.
# fw: heapsize=256k
import os

from faultfs import FaultFs, PowerCut
from fwlib import scratch_dir
from tbfw import store

_EARLIER = (
    ("dev1-1-1", b'{"session": 1, "talk_s": [120, 300]}', True),  # synced
    ("dev1-1-2", b'{"session": 2, "text": "' + bytes(range(0x20, 0x7F)) + b'"}', False),
    ("dev1-2-1", bytes(range(256)), False),  # any bytes, not only JSON
)
_NEW_ID = "dev1-2-2"
_NEW = b'{"session": 3, "timeline": [' + b"31, " * 40 + b'30]}'


def _read(s, rec_id):
    """A record's data, checked (Store.open_read), read whole."""
    reader = s.open_read(rec_id)
    buf = bytearray(reader.size)
    assert reader.read_into(0, buf) == reader.size
    return bytes(buf)


def _clear(path):
    try:
        names = os.listdir(path)
    except OSError:
        os.mkdir(path)
        return
    for name in names:
        os.remove(path + "/" + name)


def _copy_dir(src, dst):
    _clear(dst)
    for name in os.listdir(src):
        with open(src + "/" + name, "rb") as f:
            data = f.read()
        with open(dst + "/" + name, "wb") as f:
            f.write(data)


def _golden(max_records=10):
    """A store holding the earlier records; returns its directory."""
    gold = scratch_dir() + "/gold%d" % max_records
    _clear(gold)
    s = store.Store(gold, max_records=max_records)
    for rec_id, data, synced in _EARLIER:
        s.add(rec_id, data)
        if synced:
            s.ack(rec_id)
    s.close()
    return gold


def _contents(s):
    out = {}
    for rec in s.records():
        out[rec["id"]] = (_read(s, rec["id"]), rec["synced"])
    return out


def _garbage_tails(path):
    """Stale flash after a cut: junk after every temporary file."""
    for name in os.listdir(path):
        if name.endswith(".t"):
            with open(path + "/" + name, "ab") as f:
                f.write(b"\xff\x00garbage\xa5" * 3)


def _cut_everywhere(action, check, rename_copy, max_records=10, tails=False):
    """Run `action(store)` with a power cut after every unit of work, recover
    with a fresh Store on the real filesystem, and `check` what survived.
    Returns the number of cut points tried."""
    gold = _golden(max_records)
    work = scratch_dir() + "/work"
    _copy_dir(gold, work)
    full = FaultFs(-1, rename_copy)
    action(store.Store(work, max_records=max_records, fs=full))
    total = full.spent
    assert total >= 1, total
    for budget in range(total + 1):
        _copy_dir(gold, work)
        fs = FaultFs(budget, rename_copy)
        cut = False
        try:
            action(store.Store(work, max_records=max_records, fs=fs))
        except PowerCut:
            cut = True
        assert cut == (budget < total), (budget, total)
        if tails:
            _garbage_tails(work)
        after = store.Store(work, max_records=max_records)
        try:
            check(after, _contents(after), budget)
        except AssertionError as exc:
            raise AssertionError("cut after %d of %d units (rename_copy=%s): %s"
                                 % (budget, total, rename_copy, exc))
        assert not [n for n in os.listdir(work) if n.endswith(".t")], "temporary file left"
    return total


def _earlier_intact(got, skip=()):
    for rec_id, data, synced in _EARLIER:
        if rec_id in skip:
            continue
        assert rec_id in got, rec_id + " lost"
        assert got[rec_id][0] == data, rec_id + " changed"
        assert got[rec_id][1] == synced, rec_id + " sync state changed"


def _check_add(after, got, budget):
    _earlier_intact(got)
    if _NEW_ID in got:
        assert got[_NEW_ID] == (_NEW, False)
    else:
        # The record in flight is the only one that may be missing, and its
        # loss is reported unless the cut came before its file existed.
        assert len(got) == len(_EARLIER)


def test_cut_during_add_at_every_byte():
    n = _cut_everywhere(lambda s: s.add(_NEW_ID, _NEW), _check_add, False)
    assert n >= len(_NEW) + 13 + len(_NEW_ID) + 4


def test_cut_during_add_with_copying_renames():
    _cut_everywhere(lambda s: s.add(_NEW_ID, _NEW), _check_add, True)


def test_cut_during_add_with_garbage_tails():
    _cut_everywhere(lambda s: s.add(_NEW_ID, _NEW), _check_add, False, tails=True)
    _cut_everywhere(lambda s: s.add(_NEW_ID, _NEW), _check_add, True, tails=True)


def test_cut_in_flight_is_reported():
    gold = _golden()
    work = scratch_dir() + "/work"
    _copy_dir(gold, work)
    try:
        store.Store(work, fs=FaultFs(40)).add(_NEW_ID, _NEW)
    except PowerCut:
        pass
    after = store.Store(work)
    assert after.last_scan["dropped"] == [[_NEW_ID, store.DROP_INCOMPLETE]], after.last_scan
    assert after.counters()["dropped_by"] == {store.DROP_INCOMPLETE: 1}
    # The count survives another reboot.
    assert store.Store(work).counters()["dropped"] == 1


def test_cut_during_ack():
    rec_id, data, _synced = _EARLIER[1]

    def check(after, got, budget):
        _earlier_intact(got, (rec_id,))
        assert got[rec_id][0] == data

    for copy in (False, True):
        _cut_everywhere(lambda s: s.ack(rec_id), check, copy)


def test_cut_during_replace():
    rec_id, old, _synced = _EARLIER[0]  # synced: only a synced record may be replaced
    new = b"replacement " * 20

    def check(after, got, budget):
        _earlier_intact(got, (rec_id,))
        assert got[rec_id] in ((old, True), (new, False)), got.get(rec_id)
        assert len(got) == len(_EARLIER)

    for copy in (False, True):
        _cut_everywhere(lambda s: s.add(rec_id, new), check, copy)


def test_cut_during_eviction():
    # Full store (3 of 3): the synced record goes first, without a loss.
    def check(after, got, budget):
        _earlier_intact(got, ("dev1-1-1",))
        if "dev1-1-1" not in got:
            assert after.counters()["dropped_by"].get(store.DROP_EVICTED) is None
        if _NEW_ID in got:
            assert got[_NEW_ID] == (_NEW, False)

    _cut_everywhere(lambda s: s.add(_NEW_ID, _NEW), check, False, max_records=3)

    # Full of unsynced records: the oldest goes, and its loss is on record.
    def check_unsynced(after, got, budget):
        lost = [rec_id for rec_id, _d, _s in _EARLIER[1:] if rec_id not in got]
        _earlier_intact(got, ["dev1-1-1"] + lost)
        counters = after.counters()
        for rec_id in lost:
            assert rec_id == "dev1-1-2", lost
            assert [rec_id, store.DROP_EVICTED] in counters["recent_drops"], counters
        if _NEW_ID in got:
            assert got[_NEW_ID] == (_NEW, False)

    gold = _golden(2)  # dev1-1-1 evicted while building: 2 unsynced remain
    s = store.Store(gold, max_records=2)
    assert [r["id"] for r in s.records()] == ["dev1-1-2", "dev1-2-1"]
    work = scratch_dir() + "/work"
    full = FaultFs(-1)
    _copy_dir(gold, work)
    store.Store(work, max_records=2, fs=full).add(_NEW_ID, _NEW)
    for budget in range(full.spent + 1):
        _copy_dir(gold, work)
        try:
            store.Store(work, max_records=2, fs=FaultFs(budget)).add(_NEW_ID, _NEW)
        except PowerCut:
            pass
        after = store.Store(work, max_records=2)
        check_unsynced(after, _contents(after), budget)


def _flip(path, bit):
    """Flip one bit of a file; returns the original bytes."""
    with open(path, "rb") as f:
        original = f.read()
    data = bytearray(original)
    data[bit // 8] ^= 1 << (bit % 8)
    with open(path, "wb") as f:
        f.write(data)
    return original


def _restore(work, name, original):
    """Undo _flip and the store's reaction to it (quarantine, drop count)."""
    for other in os.listdir(work):
        if other[:8] == name[:8] or other.startswith("drops."):
            os.remove(work + "/" + other)
    with open(work + "/" + name, "wb") as f:
        f.write(original)


def test_every_flipped_bit_is_detected_on_open():
    gold = _golden()
    work = scratch_dir() + "/flip"
    names = sorted(n for n in os.listdir(gold) if n[-2:] in (".u", ".s"))
    assert len(names) == 3
    flips = 0
    for name in names[:2]:  # the synced record and an unsynced one
        size = os.stat(gold + "/" + name)[6]
        rec_id = {"00000001.s": "dev1-1-1", "00000002.u": "dev1-1-2"}[name]
        _copy_dir(gold, work)
        for bit in range(size * 8):
            original = _flip(work + "/" + name, bit)
            s = store.Store(work)
            assert len(s.last_scan["dropped"]) == 1, (name, bit, s.last_scan)
            reason = s.last_scan["dropped"][0][1]
            assert reason == store.DROP_CORRUPT, (name, bit, s.last_scan)
            assert rec_id not in s, (name, bit)
            got = _contents(s)
            _earlier_intact(got, (rec_id,))
            assert s.counters()["corrupt_kept"] == 1
            _restore(work, name, original)
            flips += 1
    assert flips > 8 * 200


def test_every_flipped_bit_is_detected_on_read():
    gold = _golden()
    work = scratch_dir() + "/flip"
    name = "00000003.u"
    rec_id, data, _synced = _EARLIER[2]
    size = os.stat(gold + "/" + name)[6]
    _copy_dir(gold, work)
    for bit in range(size * 8):
        s = store.Store(work)
        original = _flip(work + "/" + name, bit)
        try:
            got = _read(s, rec_id)
        except store.StoreCorrupt as exc:
            assert exc.rec_id == rec_id
        else:
            raise AssertionError("bit %d: returned %r" % (bit, got[:16]))
        assert rec_id not in s
        assert s.counters()["dropped_by"] == {store.DROP_CORRUPT: 1}
        _earlier_intact(_contents(s), (rec_id,))
        _restore(work, name, original)


def test_garbage_tail_on_committed_record_is_ignored():
    gold = _golden()
    work = scratch_dir() + "/tail"
    _copy_dir(gold, work)
    with open(work + "/00000002.u", "ab") as f:
        f.write(b"\x00\xffjunk")
    s = store.Store(work)
    _earlier_intact(_contents(s))
    assert s.last_scan["notes"] and not s.last_scan["dropped"]


def test_closed_store_refuses_changes():
    gold = _golden()
    s = store.Store(gold)
    s.close()
    s.close()
    for call in (lambda: s.add("x", b"1"), lambda: s.ack("dev1-1-2"), lambda: _read(s, "dev1-1-2")):
        try:
            call()
        except store.StoreError:
            continue
        raise AssertionError("a closed store accepted a call")
    _earlier_intact(_contents(store.Store(gold)))


def test_add_from_a_writer_stores_what_it_writes():
    work = scratch_dir() + "/writer"
    s = store.Store(work)
    calls = []

    def emit(out):
        calls.append(1)
        for i in range(40):
            out.write(b"%d," % i)
        out.write(b"end")

    seq = s.add_from("w-1", emit)
    want = b"".join(b"%d," % i for i in range(40)) + b"end"
    assert len(calls) == 2 and s.size("w-1") == len(want)
    assert _read(s, "w-1") == want
    assert _read(store.Store(work), "w-1") == want and seq >= 1


def test_a_writer_that_changes_its_mind_saves_nothing():
    work = scratch_dir() + "/fickle"
    s = store.Store(work)
    n = [0]

    def emit(out):
        n[0] += 1
        out.write(b"x" * (10 + n[0]))

    try:
        s.add_from("w-2", emit)
        raise AssertionError("saved")
    except store.StoreError as exc:
        assert "counted" in str(exc)
    assert "w-2" not in s and not [f for f in os.listdir(work + "/") if f.endswith(".t")]


def test_open_read_gives_a_checked_record_in_pieces():
    import binascii

    work = scratch_dir() + "/pieces"
    s = store.Store(work)
    data = bytes(range(256)) * 5 + b"tail"
    s.add("p-1", data)
    r = s.open_read("p-1")
    assert r.size == len(data) and r.crc == binascii.crc32(data) & 0xFFFFFFFF
    buf = bytearray(100)
    got = bytearray()
    off = 0
    while off < r.size:
        n = r.read_into(off, buf)
        got.extend(buf[:n])
        off += n
        if off == 300:
            assert s.ack("p-1")  # acknowledged meanwhile: the file has a new name
    assert bytes(got) == data and r.read_into(r.size, buf) == 0
    try:
        s.open_read("nope")
        raise AssertionError("opened a record that is not there")
    except KeyError:
        pass


def test_open_read_refuses_and_quarantines_a_corrupt_record():
    work = scratch_dir() + "/pieces-bad"
    s = store.Store(work)
    s.add("p-2", b"x" * 600)
    name = [f for f in os.listdir(work) if f.endswith(".u")][0]
    with open(work + "/" + name, "r+b") as f:
        f.seek(100)
        f.write(b"y")
    try:
        s.open_read("p-2")
        raise AssertionError("a corrupt record was opened")
    except store.StoreCorrupt:
        pass
    assert "p-2" not in s


def test_an_unsynced_record_is_never_replaced():
    s = store.Store(_golden())
    rec_id, data, _synced = _EARLIER[1]
    try:
        s.add(rec_id, b"other content")
    except store.StoreExists:
        pass
    else:
        raise AssertionError("an unsynced record was overwritten")
    assert _read(s, rec_id) == data and s.counters()["dropped"] == 0


def test_counters_ask_the_filesystem_once():
    # statvfs walks littlefs's blocks: info asks for the counters, once
    class CountingFs(store.OsFs):
        calls = 0

        def statvfs(self, path):
            CountingFs.calls += 1
            return store.OsFs.statvfs(self, path)

    s = store.Store(_golden(), max_records=10, fs=CountingFs())
    CountingFs.calls = 0
    counters = s.counters()
    assert CountingFs.calls == 1
    assert counters["budget_bytes"] == s.budget_bytes() and counters["free_bytes"] > 0
