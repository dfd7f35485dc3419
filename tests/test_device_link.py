"""The host's link client (talkbalance.device) against the firmware's own
link over a real pty and a TCP socket, and each fault it must name in one
clear line: no device, port busy, the REPL, another protocol version,
timeout, a lost device."""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest
import serial
from ptydevice import AppDevice, PtyDevice, frame
from talkbalance import device as devmod
from talkbalance.device import ConfigRefused, CorruptRecord, Device, DeviceError, open_port
from talkbalance.errors import LinkError

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import link, store, wire  # noqa: E402  isort: skip


@pytest.fixture
def rig(tmp_path):
    with PtyDevice(str(tmp_path / "flash")) as r:
        yield r


def test_hello_info_clock_config_over_a_pty(rig):
    with Device.connect(rig.path, timeout=1) as dev:
        hello = dev.hello()
        assert hello["protocol"] == wire.PROTOCOL and hello["device"] == "tb-test"
        assert dev.device_id == "tb-test"
        info = dev.info()
        assert info["counters"]["stored"] == 0 and info["link"]["requests"] == 2
        assert dev.set_clock(1_750_000_000)["time"] == 1_750_000_000
        assert dev.clock()["time"] == 1_750_000_000
        cfg = dev.set_config({"meeting_min": 45, "night": True})["config"]
        assert cfg["meeting_min"] == 45 and cfg["night"] is True
        with pytest.raises(ConfigRefused) as err:
            dev.set_config({"meeting_min": 2})
        assert err.value.code == wire.E_CONFIG and err.value.detail == {"field": "meeting_min"}
        assert dev.config()["meeting_min"] == 45  # the refused change did nothing
    assert rig.dev.cfg["meeting_min"] == 45


def test_get_record_resumes_and_verifies(rig):
    data = bytes(range(256)) * 12 + b"tail"
    rig.store.add("tb-test-1-1", data)
    counted = []
    with Device.connect(rig.path, timeout=1) as dev:
        assert dev.get_record("tb-test-1-1", counted.append) == data
        assert sum(counted) == len(data) and max(counted) == wire.CHUNK_BYTES
        with pytest.raises(DeviceError) as err:
            dev.get_record("tb-test-9-9")
        assert err.value.code == wire.E_NOT_FOUND


def test_list_pages_and_ack_batches(rig):
    ids = [f"tb-test-{b}-{s}" for b in range(1, 7) for s in range(1, 11)]  # 60 ids: several lines
    for rid in ids:
        rig.store.add(rid, b"{}")
    with Device.connect(rig.path, timeout=1) as dev:
        listed = dev.list_records()
        assert [r["id"] for r in listed] == ids
        answer = dev.ack(ids + ["tb-test-99-1"])
        assert answer["acked"] == ids and answer["unknown"] == ["tb-test-99-1"]
        assert dev.ack(ids[:2])["already"] == ids[:2]
    assert all(r["synced"] for r in rig.store.records())


def test_corrupt_on_flash_is_named(rig, tmp_path):
    rig.store.add("tb-test-1-1", b'{"x": 1}' * 40)
    path = tmp_path / "flash" / "00000001.u"
    raw = bytearray(path.read_bytes())
    raw[30] ^= 1
    path.write_bytes(bytes(raw))
    with Device.connect(rig.path, timeout=1) as dev, pytest.raises(CorruptRecord, match="tb-test-1-1 is corrupt"):
        dev.get_record("tb-test-1-1")


REPL_BANNER = (b"MicroPython v1.29.0 on 2026-01-01; Generic ESP32S3 module with ESP32S3\r\n"
               b'Type "help()" for more information.\r\n>>> ')


@pytest.mark.parametrize("reply", [REPL_BANNER, b"\r\n>>> ", b"raw REPL; CTRL-B to exit\r\n>",
                                   b"Traceback (most recent call last):\r\n  File \"<stdin>\"\r\n"])
def test_device_at_the_repl(tmp_path, reply):
    with PtyDevice(str(tmp_path / "flash"), raw_reply=reply) as rig, Device.connect(rig.path, timeout=0.5) as dev:
        began = time.monotonic()
        with pytest.raises(LinkError, match="MicroPython prompt"):
            dev.hello()
        assert time.monotonic() - began < 0.5  # recognised at once, not after the timeout
    assert b"@tb1 req" in rig.received


def test_protocol_mismatch_newer_device(tmp_path):
    reply = frame("ok", 1, "hello", {"protocol": 2, "device": "tb-x"}, version=2)
    with PtyDevice(str(tmp_path / "flash"), raw_reply=reply) as rig, Device.connect(rig.path, timeout=0.5) as dev:
        with pytest.raises(LinkError, match="protocol mismatch: the device speaks link protocol 2") as err:
            dev.hello()
    assert "upgrade" in err.value.hint


def test_protocol_mismatch_in_hello_body(tmp_path):
    """A device whose frames are version 1 but whose hello says it speaks 0."""
    decoder = wire.Decoder()

    def answer(data):
        return b"".join(wire.ok(m.id, "hello", {"protocol": 0, "device": "tb-old"}) for m in decoder.feed(data))

    with PtyDevice(str(tmp_path / "flash"), raw_reply=answer) as rig, Device.connect(rig.path, timeout=0.5) as dev:
        with pytest.raises(LinkError, match="protocol mismatch: the device speaks link protocol 0") as err:
            dev.hello()
    assert "talkbalance deploy" in err.value.hint


def test_silent_device_times_out(tmp_path):
    with PtyDevice(str(tmp_path / "flash"), raw_reply=b"") as rig, \
            Device.connect(rig.path, timeout=0.2, retries=2) as dev:
        began = time.monotonic()
        with pytest.raises(LinkError, match="timeout: no answer to hello .* after 3 tries") as err:
            dev.hello()
        assert 0.55 < time.monotonic() - began < 2
    assert "firmware running" in err.value.hint
    assert rig.received.count(b"@tb1 req") == 3  # asked three times


def test_text_but_no_frames(tmp_path):
    with PtyDevice(str(tmp_path / "flash"), raw_reply=b"I (1234) wifi: something\r\n") as rig, \
            Device.connect(rig.path, timeout=0.2, retries=0) as dev:
        with pytest.raises(LinkError, match="sends text but no talkbalance frames"):
            dev.hello()


def test_lost_device(rig):
    with Device.connect(rig.path, timeout=1) as dev:
        dev.hello()
        rig.cut_on = "list"
        with pytest.raises(LinkError, match="lost the device") as err:
            dev.list_records()
    assert "nothing is lost" in err.value.hint


def test_port_busy(rig):
    with Device.connect(rig.path, timeout=1):
        with pytest.raises(LinkError, match="port busy"):
            open_port(rig.path)


def test_no_device_and_bad_urls(tmp_path):
    with pytest.raises(LinkError, match="no device at /dev/ttyNOPE9"):
        open_port("/dev/ttyNOPE9")
    with pytest.raises(LinkError, match="not a serial port or pyserial URL"):
        open_port("nosuchscheme://x")


def test_lines_set_before_open_do_not_reset_an_esp32(monkeypatch):
    """DTR and RTS are both asserted before the port opens (no reset, no
    bootloader, USB-CDC output on) and stay so."""
    seen = {}
    real = serial.serial_for_url

    def spy(url, *args, **kwargs):
        port = real(url, *args, **kwargs)
        assert kwargs.get("do_not_open") is True
        opener = port.open

        def open_():
            seen["at_open"] = (port.dtr, port.rts)
            opener()

        port.open = open_
        return port

    monkeypatch.setattr(devmod.serial, "serial_for_url", spy)
    port = open_port("loop://")
    assert seen["at_open"] == (True, True)
    assert port.is_open and port.dtr and port.rts and port.baudrate == 115200
    port.close()


def test_spy_url_logs_the_traffic(rig, tmp_path):
    log = tmp_path / "spy.txt"
    with Device.connect(f"spy://{rig.path}?file={log}", timeout=1) as dev:
        assert dev.hello()["device"] == "tb-test"
    # spy:// writes a hex dump, 16 bytes a row: words can straddle rows, so
    # read the bytes back from the hex columns of each direction
    sent, heard = bytearray(), bytearray()
    for line in log.read_text().splitlines():
        m = re.match(r"\S+ (TX|RX) +[0-9A-F]{4}  ((?:[0-9A-F]{2} +)+)", line)
        if m:
            (sent if m.group(1) == "TX" else heard).extend(bytes.fromhex(m.group(2).replace(" ", "")))
    assert b"hello" in sent and b"tb-test" in heard


def test_socket_url(tmp_path):
    """socket://host:port: the firmware's link behind a TCP socket."""
    st = store.Store(str(tmp_path / "flash"))
    st.add("tb-test-1-1", json.dumps({"id": "tb-test-1-1"}).encode())
    server = socket.create_server(("127.0.0.1", 0))
    port_no = server.getsockname()[1]
    stop = threading.Event()

    def serve():
        conn, _ = server.accept()
        conn.setblocking(False)

        def read_into(buf):
            try:
                return conn.recv_into(buf)
            except BlockingIOError:
                return 0

        def write(data):
            try:
                return conn.send(data)
            except BlockingIOError:
                return 0

        lnk = link.Link(read_into, write, AppDevice(st, "tb-sock", _NoFaults()))
        while not stop.is_set():
            lnk.poll()
            time.sleep(0.001)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with Device.connect(f"socket://127.0.0.1:{port_no}", timeout=1) as dev:
            assert dev.hello()["device"] == "tb-sock"
            assert [r["id"] for r in dev.list_records()] == ["tb-test-1-1"]
            assert json.loads(dev.get_record("tb-test-1-1")) == {"id": "tb-test-1-1"}
    finally:
        stop.set()
        thread.join(2)
        server.close()
        st.close()


class _NoFaults:
    def hit(self, what):
        pass
