# Hostile input, generated, on the MicroPython unix port:
#
# - the flash folder: before each boot, files and folders of random names
#   (record-like, the app's own file names, anything), types, sizes (up to
#   2 MB) and contents (random bytes, JSON of any shape, damaged copies of
#   real records) are added to a flash holding saved sessions;
# - every command's arguments: random JSON bodies for each command the link
#   serves, against the running app.
#
# Every case asserts that the device boots, answers `info`, that every
# session saved before is still syncable (listed, fetched, size and CRC-32
# checked, the same bytes), and that a new session can be saved and synced.
# Each test prints one summary line, `hostile-... cases=N ...`.
# fw: heapsize=4m
import json
import os
import random

import hostile
from fwlib import scratch_dir

FLASH_CASES = 1000
ARG_ROUNDS = 120  # requests per command
_MIB = 1 << 20
_NAMES = ("drops.json", "drops.t", "boot.txt", "boot2.txt", "boot.txt.tmp", "boot2.txt.tmp",
          "config.json", "config.json.tmp", "sessions", "data", "sessions.bad", "data.bad")
_JSON_JUNK = (b"1e999", b"-1e999", b"-1", b"0", b"null", b"true", b"[]", b"{}", b'""', b"NaN",
              b"99999999999999999999999999999999", b'{"by": {"corrupt": 1e999}, "recent": []}',
              b'{"by": {"corrupt": -5}, "recent": []}', b'{"by": {"x": 1}, "recent": [[1, 2]]}',
              b'{"by": [], "recent": {}}', b'{"frame_ms": 99}', b'{"frame_ms": "20"}',
              b'{"store_max_records": 0}', b'{"night": 1}', b'{"initiator_rule": ["first"]}')


def _base(sessions=3):
    """A flash with saved sessions (one acknowledged) and a config:
    (root, {id: bytes}, {file under root: the record id it holds, or None})."""
    root = scratch_dir() + "/base"
    hostile.rmtree(root)
    os.mkdir(root)
    host = hostile.boot(root)
    for _ in range(sessions):
        hostile.save_session(host)
    saved = host.syncable()
    assert host.call("ack", {"recs": [sorted(saved)[0]]}).kind == "ok"
    assert host.call("config-set", {"set": {"meeting_min": 45}}).kind == "ok"
    own = {"/config.json": None, "/data/boot.txt": None, "/data/boot2.txt": None}
    for rec in host.dev.store.records():
        own["/data/sessions/%08d.%s" % (rec["seq"], "s" if rec["synced"] else "u")] = rec["id"]
    for path in own:
        assert hostile.exists(root + path), path
    return root, saved, own


def _record_files(root):
    out = []
    for name in os.listdir(root + "/data/sessions"):
        if name[-2:] in (".u", ".s"):
            with open(root + "/data/sessions/" + name, "rb") as f:
                out.append(f.read())
    return out


def _name(rng):
    kind = rng.randrange(10)
    if kind < 4:  # like a record file
        seq = rng.choice((1, 2, 3, 4, 5, rng.randrange(1, 10 ** 8), 99999999, 100000000,
                          4294967295, 4294967296, 0, 10 ** 10))
        digits = "%08d" % seq
        if rng.randrange(5) == 0:
            digits = "0" + digits
        return digits + "." + rng.choice("tusbtusbx")
    if kind < 7:
        return rng.choice(_NAMES)
    chars = "abcdefgh.-_0123456789 ~!#%&()+,;=@[]^{}'"
    return "".join(rng.choice(chars) for _ in range(rng.randrange(1, 40))).strip() or "x"


def _content(rng, records):
    kind = rng.randrange(12)
    if kind == 0:
        return b""
    if kind < 4:
        size = rng.choice((rng.randrange(1, 64), rng.randrange(64, 5000), rng.randrange(5000, 70000)))
        return os.urandom(size)
    if kind < 6:
        return rng.choice(_JSON_JUNK)
    if kind < 8:  # a real record, cut, damaged or with a tail
        data = bytearray(rng.choice(records))
        how = rng.randrange(3)
        if how == 0:
            data = data[:rng.randrange(len(data))]
        elif how == 1:
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8)
        else:
            data.extend(os.urandom(rng.randrange(1, 300)))
        return bytes(data)
    if kind < 10:  # JSON of any shape
        return json.dumps(_value(rng, 3)).encode()
    if kind == 10:  # a header that claims anything
        return b"TBr1" + os.urandom(rng.randrange(0, 40))
    return None  # a big one: written in blocks


def _value(rng, depth):
    kind = rng.randrange(12 if depth > 0 else 9)
    if kind == 0:
        return None
    if kind == 1:
        return rng.randrange(2) == 0
    if kind == 2:
        return rng.choice((0, -1, 1, 2 ** 31, -2 ** 31, 2 ** 32, 2 ** 63, -2 ** 63, 2 ** 64, 10 ** 20,
                           10 ** 100, 946684800, 4102444799, 4102444800, 1700000000))
    if kind == 3:
        return rng.randrange(-1000, 100000)
    if kind == 4:
        return rng.choice((0.5, -0.0, 1e300, -1e300, 1.5e9, 3.0))
    if kind == 5:
        return "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(0, 30)))
    if kind == 6:
        return "x" * rng.choice((0, 64, 65, 200, 700))
    if kind == 7:
        return rng.choice(("first", "second", "start", "stop", "claim", "leds", "flash", "mics", "cost",
                           "frame_ms", "night", "\u00e9\u4e2d", "\u0000", "../x", ""))
    if kind == 8:
        return "".join(chr(rng.randrange(0x80, 0x3000)) for _ in range(rng.randrange(1, 8)))
    if kind < 11:
        return [_value(rng, depth - 1) for _ in range(rng.randrange(0, 6))]
    out = {}
    for _ in range(rng.randrange(0, 5)):
        out[_value(rng, 0) if rng.randrange(3) == 0 else "k%d" % rng.randrange(4)] = _value(rng, depth - 1)
    return {str(k): v for k, v in out.items()}


def _junk(rng, root, records, fresh, own):
    """Add 1 to 4 new files or folders, and now and then put junk in place
    of one of the flash's own files (`own`: path -> the record id it holds,
    or None). Returns (what was added, the record ids whose file went)."""
    places = [root, root + "/data", root + "/data/sessions"]
    added = []
    gone = []
    if own and rng.randrange(4) == 0:
        path = rng.choice(sorted(own))
        os.remove(root + path)
        if rng.randrange(6) == 0:
            os.mkdir(root + path)
        else:
            data = _content(rng, records)
            hostile.write(root + path, data if data is not None else os.urandom(100000))
        added.append("over " + path)
        if own[path] is not None:
            gone.append(own[path])
    for _ in range(rng.randrange(1, 5)):
        where = rng.choice(places)
        if not hostile.is_dir(where):
            continue
        path = where + "/" + _name(rng)
        if hostile.exists(path) or (path.endswith("/data") and not fresh) \
                or (path.endswith("/sessions") and not fresh):
            continue
        if rng.randrange(7) == 0:
            os.mkdir(path)
            if rng.randrange(2):
                hostile.write(path + "/" + _name(rng), os.urandom(rng.randrange(0, 300)))
        else:
            data = _content(rng, records)
            if data is None:
                block = os.urandom(1024)
                with open(path, "wb") as f:
                    for _ in range(rng.choice((70, 300, 2048))):
                        f.write(block)
            else:
                hostile.write(path, data)
        added.append(path[len(root):])
    return added, gone


def _check(root, saved):
    """Boot; info; every saved session syncable. Returns the host."""
    host = hostile.boot(root)
    info = host.call("info")
    assert info.kind == "ok", (info.name, info.body)
    got = host.syncable()
    for rec_id in saved:
        assert rec_id in got, "lost " + rec_id
        assert got[rec_id] == saved[rec_id], "changed " + rec_id
    return host


def test_flash_folder_fuzz():
    base, saved, own = _base()
    records = _record_files(base)
    work = scratch_dir() + "/fz"
    counts = {"cases": 0, "boots": 0, "refused": 0, "crashes": 0, "lost": 0, "junk": 0, "problems": 0,
              "overwritten": 0}
    failures = []
    for case in range(FLASH_CASES):
        rng = random.Random(case) if hasattr(random, "Random") else None
        if rng is None:
            random.seed(case)
            rng = random
        hostile.rmtree(work)
        fresh = case % 10 == 9  # a flash without data: junk may take the app's folder names
        if fresh:
            os.mkdir(work)
            expect = {}
        else:
            hostile.copytree(base, work)
            expect = saved
        added, gone = _junk(rng, work, records, fresh, {} if fresh else own)
        if gone:  # a record file overwritten costs that record, and no other
            expect = dict(expect)
            for rec_id in gone:
                del expect[rec_id]
        counts["overwritten"] += len([a for a in added if a.startswith("over ")])
        counts["junk"] += len(added)
        counts["cases"] += 1
        stage = "boot"
        try:
            host = hostile.boot(work)
            counts["boots"] += 1
            counts["problems"] += len(getattr(host.dev, "problems", ())) > 0
            stage = "sync"
            host = _check(work, expect)  # a second boot, after the first one's repairs
            counts["boots"] += 1
            stage = "save"
            rec_id = hostile.save_session(host)
            mine = dict(expect)
            mine[rec_id] = host.get(rec_id)
            stage = "sync"
            _check(work, mine)
            counts["boots"] += 1
        except AssertionError as exc:
            counts["lost"] += 1
            failures.append((case, stage, added, str(exc)))
        except Exception as exc:  # any fault of the device is what this test counts
            counts["refused" if stage == "boot" else "crashes"] += 1
            failures.append((case, stage, added, "%s: %s" % (type(exc).__name__, exc)))
    print("hostile-flash-fuzz " + " ".join("%s=%d" % (k, counts[k]) for k in sorted(counts)))
    assert not failures, failures[:3]
    assert counts["cases"] >= 1000 and counts["boots"] >= 3 * counts["cases"]


def _arg_body(rng, name, keys):
    body = {}
    for key in keys:
        if rng.randrange(4):
            body[key] = _value(rng, 2)
    if rng.randrange(4) == 0:
        body["k%d" % rng.randrange(3)] = _value(rng, 1)
    if name == "selftest" and isinstance(body.get("tests"), list):
        # tap and button wait for a person; several walks round the ring hold
        # the loop for seconds (the self-test's own bound is not tested here)
        body["tests"] = [t for t in body["tests"] if t not in ("tap", "button")][:2]
    return body


_ARG_KEYS = {
    "hello": ("protocol",), "info": (), "list": ("after",), "get": ("rec", "off"), "ack": ("recs",),
    "clock": (), "clock-set": ("time",), "config": (), "config-set": ("set", "evict"), "live": ("on",),
    "session": ("action",), "selftest": ("tests",), "reboot": (),
}


def test_every_commands_arguments_fuzz():
    base, saved, _own = _base()
    root = scratch_dir() + "/args"
    hostile.rmtree(root)
    hostile.copytree(base, root)
    host = hostile.boot(root)
    known = set(host.dev.link._handlers)
    assert known == set(_ARG_KEYS), sorted(known ^ set(_ARG_KEYS))
    random.seed(11)
    rng = random.Random(11) if hasattr(random, "Random") else random
    rec_ids = list(saved)
    counts = {"requests": 0, "ok": 0, "err": 0, "internal": 0, "unanswered": 0, "lost": 0, "commands": 0,
              "reboots": 0}
    failures = []
    for name in sorted(_ARG_KEYS):
        counts["commands"] += 1
        for i in range(ARG_ROUNDS):
            body = _arg_body(rng, name, _ARG_KEYS[name])
            if name in ("get", "ack") and rng.randrange(3) == 0:  # now and then a real id
                if name == "get":
                    body["rec"] = rng.choice(rec_ids)
                else:
                    body["recs"] = [rng.choice(rec_ids), _value(rng, 0)]
            if name == "config-set" and rng.randrange(2) and isinstance(body.get("set"), dict):
                body["set"]["meeting_min"] = _value(rng, 0)
            counts["requests"] += 1
            try:
                msgs = host.replies(host.send(name, body))
            except AssertionError as exc:
                counts["unanswered"] += 1
                failures.append((name, body, str(exc)))
                continue
            final = msgs[-1]
            counts[final.kind] += 1
            if final.kind == "err" and final.name == "internal":
                counts["internal"] += 1
                failures.append((name, body, final.body))
            if name == "reboot" and final.kind == "ok":
                for _ in range(60):  # the board resets once the answer is out
                    host.dev.step()
                assert host.board.reboots == 1
                host = hostile.boot(root)
                counts["reboots"] += 1
            if i % 20 == 19:
                assert host.call("info").kind == "ok"
        listed = host.listed()
        for rec_id in rec_ids:
            if rec_id not in listed:
                counts["lost"] += 1
                failures.append((name, "lost", rec_id))
        rec_ids = list(listed)  # sessions the fuzz started and stopped count too
    mine = host.syncable()
    print("hostile-arg-fuzz " + " ".join("%s=%d" % (k, counts[k]) for k in sorted(counts)))
    assert not failures, failures[:3]
    assert host.call("info").body["counters"]["dropped"] == 0
    _check(root, mine)  # and it boots again with whatever config the fuzz left
