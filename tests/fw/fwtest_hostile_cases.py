# Hostile input, case by case, on the MicroPython unix port: the running app
# (tbfw.app on the simulated board, its link driven in memory) against a
# flash and a host that do what an attacker or an unlucky user would. Each
# test ends by booting again and checking that the device answers `info`
# and that every session saved before is still syncable.
# fw: heapsize=2m
import os

import hostile
from fwlib import scratch_dir

_n = [0]


def _fresh(sessions=3):
    """A new flash folder with `sessions` saved sessions; (root, host, {id: bytes})."""
    _n[0] += 1
    root = scratch_dir() + "/case%d" % _n[0]
    hostile.rmtree(root)
    os.mkdir(root)
    host = hostile.boot(root)
    for _ in range(sessions):
        hostile.save_session(host)
    return root, host, host.syncable()


def _still_fine(root, saved, problem=None):
    """Boot again: info answers, every saved session is syncable as it was,
    and `problem` (a piece of text) is reported in info and the log."""
    host = hostile.boot(root)
    info = host.call("info")
    assert info.kind == "ok", info.body
    got = host.syncable()
    for rec_id in saved:
        assert got.get(rec_id) == saved[rec_id], "lost or changed " + rec_id
    if problem is not None:
        assert [p for p in info.body["problems"] if problem in p], info.body["problems"]
        host.dev.log_boot()
        assert [t for t in host.board.logs if t.startswith("warn-boot") and problem in t], host.board.logs
    return host, info.body


# -- 1. ids that repeat ----------------------------------------------------

def test_erasing_the_data_folder_does_not_reissue_ids():
    root, host, saved = _fresh(2)
    hostile.rmtree(root + "/data")  # erase and deploy again: only the device id survives
    again = hostile.boot(root)
    new_ids = [hostile.save_session(again) for _ in range(2)]
    for rec_id in new_ids:
        assert rec_id not in saved, (rec_id, list(saved))


def test_losing_one_boot_counter_file_does_not_set_it_back():
    root, host, saved = _fresh(1)
    boot = host.dev.boot
    hostile.write(root + "/data/boot.txt", b"\xff\x00garbage")
    again = hostile.boot(root)
    assert again.dev.boot == boot + 1
    assert [p for p in again.dev.problems if "boot.txt" in p], again.dev.problems
    os.remove(root + "/data/boot2.txt")
    assert hostile.boot(root).dev.boot == boot + 2


def test_a_save_never_replaces_an_unsynced_record():
    root, host, saved = _fresh(1)
    (rec_id,) = list(saved)
    dev = host.dev
    # The conversation about to reuse the stored id (an id issued twice).
    boot, boot_id, session_no = rec_id.rsplit("-", 3)[1:]
    dev.conv.boot = int(boot)
    dev.conv.boot_id = boot_id
    dev.conv.session_no = int(session_no) - 1
    new_id = hostile.save_session(host)
    assert new_id != rec_id
    assert host.get(rec_id) == saved[rec_id]
    assert host.call("info").body["counters"]["dropped"] == 0
    _still_fine(root, saved)


# -- 2. sequence numbers past 8 digits ---------------------------------------

def test_a_sequence_number_past_99999999_loses_nothing():
    root, host, saved = _fresh(1)
    hostile.write(root + "/data/sessions/99999999.b", b"quarantined long ago")
    host = hostile.boot(root)
    rec_id = hostile.save_session(host)
    assert hostile.exists(root + "/data/sessions/100000000.u")
    saved[rec_id] = host.get(rec_id)
    _, info = _still_fine(root, saved)
    assert info["counters"]["dropped"] == 0


# -- 3. the clock ---------------------------------------------------------------

def test_clock_set_out_of_range_is_refused():
    root, host, saved = _fresh(1)
    before = host.call("clock").body["time"]
    for bad in (10 ** 20, 2 ** 63, 2 ** 31 * 3, 4102444800, 946684799, -1, 1.5e9, "1700000000", None, True):
        msg = host.call("clock-set", {"time": bad})
        assert msg.kind == "err" and msg.name == "bad-argument", (bad, msg.name, msg.body)
    assert abs(host.call("clock").body["time"] - before) <= 1
    assert host.call("clock-set", {"time": 4102444799}).body["time"] == 4102444799
    rec_id = hostile.save_session(host)
    saved[rec_id] = host.get(rec_id)
    _still_fine(root, saved)


# -- 4. a device that always boots ---------------------------------------------

def test_a_folder_named_like_a_record():
    root, host, saved = _fresh(2)
    os.mkdir(root + "/data/sessions/00000005.u")
    os.mkdir(root + "/data/sessions/00000001.t")  # beside a good record
    _still_fine(root, saved)


def test_drops_file_with_an_infinite_count():
    root, host, saved = _fresh(2)
    hostile.write(root + "/data/sessions/drops.json", b'{"by": {"corrupt": 1e999}, "recent": []}')
    _, info = _still_fine(root, saved)
    assert info["counters"]["dropped_by"] == {"counter-file-lost": 1}
    hostile.write(root + "/data/sessions/drops.json", b"1e999")
    _still_fine(root, saved)


def test_drops_file_of_two_megabytes():
    root, host, saved = _fresh(2)
    with open(root + "/data/sessions/drops.json", "wb") as f:
        block = b'{"by": {"corrupt": ' + b"9" * 1000
        for _ in range(2048):
            f.write(block)
    _, info = _still_fine(root, saved)
    assert info["counters"]["dropped_by"] == {"counter-file-lost": 1}


def test_config_that_is_not_json():
    root, host, saved = _fresh(1)
    hostile.write(root + "/config.json", b"\x00\xff{frame_ms: 20")
    host, info = _still_fine(root, saved, "config: not valid JSON")
    assert host.dev.cfg["frame_ms"] == 20


def test_config_value_out_of_range_falls_back_for_that_key_only():
    root, host, saved = _fresh(1)
    hostile.write(root + "/config.json", b'{"frame_ms": 99, "meeting_min": 50, "night": "yes", "color": 1}')
    host, info = _still_fine(root, saved, "frame_ms")
    cfg = host.call("config").body["config"]
    assert cfg["frame_ms"] == 20 and cfg["meeting_min"] == 50 and cfg["night"] is False
    assert len(info["problems"]) == 3, info["problems"]


def test_config_as_a_folder_or_two_megabytes():
    root, host, saved = _fresh(1)
    os.mkdir(root + "/config.json")
    _still_fine(root, saved, "config")
    os.rmdir(root + "/config.json")
    with open(root + "/config.json", "wb") as f:
        for _ in range(2048):
            f.write(b" " * 1024)
    _still_fine(root, saved, "config: larger than")


def test_counter_files_of_any_content():
    root, host, saved = _fresh(1)
    for content in (b"", b"-5", b"1e999", b"99999999999999999999", b"\xff" * 5000, b"12 13"):
        hostile.write(root + "/data/boot.txt", content)
        hostile.write(root + "/data/boot2.txt", content)
        host = hostile.boot(root)
        assert 1 <= host.dev.boot <= 0x3FFFFFFF
        rec_id = hostile.save_session(host)
        assert rec_id not in saved
        saved[rec_id] = host.get(rec_id)
    _still_fine(root, saved)


def test_the_store_folder_or_the_data_folder_as_a_file():
    root, host, saved = _fresh(0)
    hostile.rmtree(root + "/data/sessions")
    hostile.write(root + "/data/sessions", b"not a folder")
    host, info = _still_fine(root, {}, "not a directory")
    rec_id = hostile.save_session(host)
    assert host.get(rec_id)
    hostile.rmtree(root + "/data")
    hostile.write(root + "/data", b"not a folder either")
    host, info = _still_fine(root, {}, "not a folder")
    hostile.save_session(host)


# -- 6. protocol errors as documented --------------------------------------

def test_ack_of_an_unknown_id_answers_unknown():
    root, host, saved = _fresh(1)
    (rec_id,) = list(saved)
    msg = host.call("ack", {"recs": ["tb-9-9", "x" * 500, rec_id]})
    assert msg.kind == "ok", (msg.name, msg.body)
    assert msg.body == {"acked": [rec_id], "already": [], "unknown": ["tb-9-9", "x" * 500]}
    for bad in (None, [], "tb-9-9", [1], ["a"] * 65, {"a": 1}):
        msg = host.call("ack", {"recs": bad})
        assert msg.kind == "err" and msg.name == "bad-argument", (bad, msg.name)
    _still_fine(root, saved)


# -- 7. never evict unsynced sessions without saying so ------------------------

def test_lowering_the_record_bound_asks_before_evicting():
    root, host, saved = _fresh(12)
    msg = host.call("config-set", {"set": {"store_max_records": 10}})
    assert msg.kind == "err" and msg.name == "would-evict", (msg.name, msg.body)
    assert msg.body["detail"] == {"unsynced": 3}, msg.body  # 12 + the next one, 10 kept
    assert host.call("config").body["config"]["store_max_records"] == 200  # nothing changed
    msg = host.call("config-set", {"set": {"store_max_records": 10}, "evict": 2})
    assert msg.name == "would-evict"
    # Acknowledged ones make room without a loss: no question asked.
    assert host.call("ack", {"recs": list(saved)[:5]}).kind == "ok"
    assert host.call("config-set", {"set": {"store_max_records": 10}}).kind == "ok"
    _still_fine(root, saved)


def test_storage_nearly_full_shows_before_an_unsynced_session_is_evicted():
    root, host, saved = _fresh(9)
    assert host.call("config-set", {"set": {"store_max_records": 10}, "evict": 1}).kind == "ok"
    host, info = _still_fine(root, saved)  # the new bound applies from this boot
    assert info["storage_nearly_full"] is True
    host.dev.step()
    assert host.dev.ring_state.storage_nearly_full
    assert info["counters"]["dropped"] == 0
    hostile.save_session(host)  # the 10th: still nothing lost
    assert host.call("info").body["counters"]["dropped"] == 0
    # Synced, the old ones make room: no longer nearly full.
    assert host.call("ack", {"recs": list(saved)}).kind == "ok"
    host.dev.step()
    assert not host.dev.ring_state.storage_nearly_full


def test_a_store_folder_that_cannot_be_listed_is_kept_for_the_next_boot():
    from tbfw import store

    class NoList(store.OsFs):
        def listdir(self, path):
            raise OSError(5)  # EIO: a read error, the folder is there

    root, host, saved = _fresh(2)
    blind = store.Store(root + "/data/sessions", fs=NoList())
    assert blind.records() == [] and blind.last_scan["notes"], blind.last_scan
    try:  # its first file would take the name of a record it cannot see
        blind.add("tb-1-x-1", b"{}")
    except store.StoreError:
        pass
    else:
        raise AssertionError("a save into a folder that could not be listed")
    assert hostile.is_dir(root + "/data/sessions")
    _still_fine(root, saved)
