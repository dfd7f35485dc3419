"""The device side of the link (tbfw.link) against a fake device, on CPython."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
import talkbalance.fw  # noqa: F401  (puts the firmware on sys.path)

sys.path.insert(0, str(Path(__file__).parent / "fw"))

from linkfake import FakeDevice, FakePort, Host  # noqa: E402
from tbfw import link, store, wire  # noqa: E402


@pytest.fixture
def rig(tmp_path):
    st = store.Store(str(tmp_path / "store"))
    dev = FakeDevice(st)
    port = FakePort()
    lnk = link.Link(port.read_into, port.write, dev)
    return Host(lnk, port), dev, st


def test_hello_and_info(rig):
    host, dev, st = rig
    st.add("tb-1-1", b"{}")
    msg = host.call("hello", {"protocol": 1})
    assert (msg.kind, msg.name) == ("ok", "hello")
    assert msg.body["protocol"] == wire.PROTOCOL and msg.body["device"] == "tb-test"
    assert msg.body["max_line"] == wire.MAX_LINE
    info = host.call("info").body
    assert info["counters"]["stored"] == 1 and info["counters"]["unsynced"] == 1
    assert info["firmware"] and info["clock"] == dev.clock
    assert info["link"]["requests"] == 2


def test_list_pages_through_every_record(rig):
    host, _dev, st = rig
    want = [f"tb0042-{b}-{s}" for b in range(3) for s in range(12)]
    for rec_id in want:
        st.add(rec_id, rec_id.encode())
    st.ack(want[3])
    seen = []
    after = 0
    pages = 0
    while True:
        body = host.call("list", {"after": after}).body
        pages += 1
        assert body["total"] == len(want)
        seen += body["records"]
        if body["next"] is None:
            break
        after = body["next"]
    assert pages > 1  # 36 records do not fit in one line
    assert [r["id"] for r in seen] == want
    assert [r["synced"] for r in seen] == [i == 3 for i in range(len(want))]


def test_get_streams_chunks_that_reassemble(rig):
    host, _dev, st = rig
    record = bytes(random.Random(1).randrange(256) for _ in range(3000))
    st.add("tb-1-1", record)
    asm, final = host.get("tb-1-1")
    assert final.kind == "ok" and final.body["size"] == len(record)
    assert asm.finish(final) == record
    # Resume after an interrupted transfer.
    asm, final = host.get("tb-1-1", 1000)
    assert asm.finish(final, record[:1000]) == record
    assert host.port.max_write <= host.link.tx_max


def test_get_errors(rig):
    host, _dev, st = rig
    assert (host.call("get", {"rec": "nope"}).name) == wire.E_NOT_FOUND
    assert host.call("get", {}).name == wire.E_BAD_ARG
    st.add("tb-1-1", b"abc")
    assert host.call("get", {"rec": "tb-1-1", "off": 4}).name == wire.E_BAD_ARG


def test_corrupt_record_is_an_error_never_data(rig, tmp_path):
    host, _dev, st = rig
    st.add("tb-1-1", b'{"talk": [1, 2, 3]}')
    path = next((tmp_path / "store").glob("*.u"))
    raw = bytearray(path.read_bytes())
    raw[20] ^= 0x04
    path.write_bytes(bytes(raw))
    msgs = host.replies(host.send("get", {"rec": "tb-1-1"}))
    assert [m.kind for m in msgs] == ["err"]
    assert msgs[0].name == wire.E_CORRUPT and msgs[0].body["detail"] == {"rec": "tb-1-1"}
    assert host.call("info").body["counters"]["dropped_by"] == {store.DROP_CORRUPT: 1}


def test_ack_marks_synced(rig):
    host, _dev, st = rig
    st.add("tb-1-1", b"1")
    st.add("tb-1-2", b"2")
    body = host.call("ack", {"recs": ["tb-1-1", "tb-9-9"]}).body
    assert body == {"acked": ["tb-1-1"], "already": [], "unknown": ["tb-9-9"]}
    assert host.call("ack", {"recs": ["tb-1-1"]}).body["already"] == ["tb-1-1"]
    assert [r["synced"] for r in st.records()] == [True, False]
    assert host.call("ack", {"recs": "tb-1-2"}).name == wire.E_BAD_ARG


def test_clock(rig):
    host, dev, _st = rig
    assert host.call("clock").body == {"time": dev.clock, "boot": 1, "uptime_s": 0, "clock_set": False}
    assert host.call("clock-set", {"time": 1800000000}).body == {"time": 1800000000}
    assert host.call("clock").body["clock_set"] is True
    for bad in ({"time": "noon"}, {"time": True}, {"time": 5}, {}):
        msg = host.call("clock-set", bad)
        assert (msg.kind, msg.name) == ("err", wire.E_BAD_ARG), bad
    assert dev.clock == 1800000000


def test_config_validated_all_or_nothing(rig):
    host, dev, _st = rig
    assert host.call("config").body["config"]["frame_ms"] == 20
    assert host.call("config-set", {"set": {"frame_ms": 25, "night": True}}).body["config"]["frame_ms"] == 25
    msg = host.call("config-set", {"set": {"frame_ms": 99}})
    assert (msg.kind, msg.name) == ("err", wire.E_CONFIG)
    assert "10 to 32" in msg.body["msg"] and msg.body["detail"] == {"field": "frame_ms"}
    msg = host.call("config-set", {"set": {"brightness_pct": 10, "colour": "red"}})
    assert msg.name == wire.E_CONFIG and msg.body["detail"] == {"field": "colour"}
    assert "unknown key" in msg.body["msg"]
    assert dev.cfg["brightness_pct"] == 50 and dev.cfg["frame_ms"] == 25  # nothing half-applied


def test_live_session_selftest(rig):
    host, dev, _st = rig
    assert host.call("live", {"on": True}).body == {"live": True} and dev.live_on
    assert host.link.event("live", {"share": 31})
    host.call("live", {"on": False})
    assert [e.body for e in host.events] == [{"share": 31}]
    assert host.call("live", {"on": 1}).name == wire.E_BAD_ARG
    assert host.call("session", {"action": "start"}).body["state"] == "session"
    msg = host.call("session", {"action": "start"})
    assert (msg.name, msg.body["msg"]) == (wire.E_BUSY, "a session is already running")
    assert host.call("session", {"action": "claim"}).body["claims"] == 1
    assert host.call("session", {"action": "explode"}).name == wire.E_BAD_ARG
    assert host.call("selftest").body["ok"] is True


def test_reboot_after_the_answer_is_out(rig):
    host, dev, _st = rig
    written_at_reboot = []
    dev.reboot = lambda: written_at_reboot.append(host.port.from_device)
    ident = host.send("reboot")
    for _ in range(5):
        host.link.poll()
    assert len(written_at_reboot) == 1
    [msg] = wire.Decoder().feed(written_at_reboot[0])
    assert (msg.kind, msg.id, msg.body) == ("ok", ident, {"rebooting": True})


def test_unknown_command_and_device_fault_keep_the_link_alive(rig):
    host, dev, _st = rig
    msg = host.call("frobnicate")
    assert msg.name == wire.E_UNKNOWN and "hello" in msg.body["msg"]
    dev.fail_next = RuntimeError("sensor gone")
    msg = host.call("info")
    assert msg.name == wire.E_INTERNAL and "sensor gone" in msg.body["msg"]
    assert host.call("hello").kind == "ok"


def test_partial_writes_keep_frames_whole(rig):
    host, _dev, st = rig
    host.port.write_limit = 7
    record = bytes(range(256)) * 4
    st.add("tb-1-1", record)
    asm, final = host.get("tb-1-1")
    assert asm.finish(final) == record
    assert host.port.max_write <= 7


def test_host_not_reading_never_grows_the_queue(rig):
    host, _dev, st = rig
    lnk = host.link
    host.port.write_limit = 0
    st.add("tb-1-1", bytes(5000))
    for i in range(200):
        host.send("info")
        if i % 7 == 0:
            host.send("get", {"rec": "tb-1-1"})
        lnk.event("live", {"i": i})
        lnk.poll()
        assert lnk._queued <= lnk.queue_max
        assert lnk.last_rx <= lnk.rx_max
    stats = lnk.stats()
    assert stats["events_dropped"] > 0 and stats["tx_dropped"] > 0
    # Once the host reads again, the link answers.
    host.port.write_limit = None
    host.port.to_device = b""
    for _ in range(200):
        lnk.poll()
    host.port.from_device = b""
    assert host.call("hello").kind == "ok"


def test_request_flood_is_bounded(rig):
    host, _dev, _st = rig
    lnk = host.link
    for _ in range(100):
        host.send("hello")
    polls = 0
    while host.port.to_device and polls < 1000:
        lnk.poll()
        polls += 1
        assert lnk.last_rx <= lnk.rx_max and lnk.last_tx <= lnk.tx_max
        assert len(lnk._pending) <= 4
    while not lnk.idle:
        lnk.poll()
    answers = [m for m in wire.Decoder().feed(host.port.from_device) if m.kind == "ok"]
    stats = lnk.stats()
    # A host that does not wait for answers loses requests beyond the
    # pending bound; each is counted, and every request taken is answered.
    assert len(answers) == stats["requests"] >= 10
    assert len({m.id for m in answers}) == len(answers)
    assert stats["requests"] + stats["overflow"] == 100


LINE_RATE_PER_FRAME = 115200 // 10 // 50  # bytes per 20 ms frame at 115200 baud, 8N1


def test_garbage_flood_at_line_rate(rig):
    """Random bytes at full line rate: every poll reads at most rx_max bytes
    and writes at most tx_max, and a request between the garbage is still
    answered."""
    host, _dev, _st = rig
    lnk = host.link
    rng = random.Random(3)
    sent_req = None
    answered = False
    for i in range(3000):
        chunk = bytes(rng.randrange(256) for _ in range(LINE_RATE_PER_FRAME))
        if i == 1500:
            sent_req = host.send("hello")
        host.port.to_device += chunk
        lnk.poll()
        assert lnk.last_rx <= lnk.rx_max and lnk.last_tx <= lnk.tx_max
        for msg in host.decoder.feed(host.port.from_device):
            answered = answered or (msg.id == sent_req and msg.kind == "ok")
        host.port.from_device = b""
    assert answered
    assert not host.port.to_device  # the link keeps up with the line
    assert lnk.stats()["bytes_in"] == 3000 * LINE_RATE_PER_FRAME + 1 + len(wire.request(sent_req, "hello"))


def test_backlog_is_served_in_bounded_steps(rig):
    host, _dev, _st = rig
    lnk = host.link
    host.port.to_device = bytes(random.Random(4).randrange(256) for _ in range(50_000))
    polls = 0
    while host.port.to_device:
        lnk.poll()
        polls += 1
        assert lnk.last_rx <= lnk.rx_max
    assert polls >= 50_000 // lnk.rx_max
