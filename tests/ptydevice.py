"""A test device behind a real pseudo-terminal.

The firmware's own link (tbfw.link) and store (tbfw.store) run in a thread
under CPython; the link reads and writes the pty's master side and the host
opens the slave path with pyserial exactly as it opens /dev/ttyACM0.

Faults: `cut_on` names a device call ("hello", "clock-set", "list", "get",
"ack-before", "ack-after") at which the device dies (the pty master closes,
as when the cable is pulled), `cut_on_count` says at which call of that kind;
`cut_after_bytes` kills it once it has sent that many bytes (mid-frame).
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
import tty
from pathlib import Path

import talkbalance.fw  # noqa: F401  (puts the firmware on sys.path)
from tbfw import link, store, wire

sys.path.insert(0, str(Path(__file__).parent / "fw"))
from linkfake import FakeDevice  # noqa: E402  (shared with the MicroPython link tests)


class _Cut(Exception):
    pass


class AppDevice(FakeDevice):
    """The application side of the link: the link tests' fake device, with
    the fault points of the rig (`hit`) on the calls a sync makes."""

    def __init__(self, st: store.Store, device_id: str, rig: PtyDevice):
        super().__init__(st, device_id)
        self.rig = rig
        self.clock = 1_600_000_000
        self.gets = 0

    def info(self):
        self.rig.hit("hello")
        return super().info()

    def records(self):
        self.rig.hit("list")
        return super().records()

    def open_record(self, rec_id):
        self.gets += 1
        self.rig.hit("get")
        return super().open_record(rec_id)

    def ack(self, rec_id):
        self.rig.hit("ack-before")
        done = super().ack(rec_id)
        self.rig.hit("ack-after")
        return done

    def clock_set(self, unix_s):
        self.rig.hit("clock-set")
        super().clock_set(unix_s)


class PtyDevice:
    def __init__(self, store_dir: str, device_id: str = "tb-test", *, cut_on: str | None = None,
                 cut_on_count: int = 1, cut_after_bytes: int | None = None, raw_reply=None):
        self.store = store.Store(store_dir)
        self.dev = AppDevice(self.store, device_id, self)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.cut_on = cut_on
        self.cut_on_count = cut_on_count
        self.cut_after_bytes = cut_after_bytes
        self.raw_reply = raw_reply  # bytes, or f(bytes read) -> bytes: answers instead of the link
        self.hits: dict[str, int] = {}
        self.sent = 0
        self.garble_every = 0  # flip a bit in one byte of this many sent, at random (0: none)
        self.garbled = 0
        self._rng = random.Random(1)
        self.dead = False
        self._dying = False
        self._stop = False
        self.link = link.Link(self._read_into, self._write, self.dev)
        self.received = b""
        self.live_every_s = 0.02
        self.live_sent = 0
        self._next_live = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def live_body(n: int) -> dict:
        """The n-th live event: a session at 31%, partner speaking."""
        return {"mode": "session", "share_pm": 310, "recent_share_pm": 280, "initiator_az": 270,
                "partner_az": 90, "speaking": 2, "heat": 0, "elapsed_s": 750 + n, "meeting_s": 2400,
                "t_ms": 20 * n}

    # -- faults -----------------------------------------------------------------

    def hit(self, what: str) -> None:
        self.hits[what] = self.hits.get(what, 0) + 1
        if what == self.cut_on and self.hits[what] == self.cut_on_count:
            self._dying = True  # nothing more goes out; the thread closes the pty
            if what != "ack-after":
                raise _Cut(what)

    # -- the board's two callables ------------------------------------------------

    def _read_into(self, buf) -> int:
        if self._dying:
            return 0
        try:
            return os.readv(self.master, [buf])
        except (BlockingIOError, OSError):
            return 0

    def _write(self, data) -> int:
        if self._dying:
            return 0
        data = bytes(data)
        if self.cut_after_bytes is not None and self.sent + len(data) >= self.cut_after_bytes:
            data = data[:self.cut_after_bytes - self.sent]
            self._dying = True
        if self.garble_every and data:
            data = bytearray(data)
            for pos in range(len(data)):
                if self._rng.randrange(self.garble_every) == 0:
                    data[pos] ^= 0x01
                    self.garbled += 1
            data = bytes(data)
        try:
            n = os.write(self.master, data) if data else 0
        except (BlockingIOError, OSError):
            return 0
        self.sent += n
        return n

    def _run(self) -> None:
        while not self._stop and not self._dying:
            if self.raw_reply is not None:
                got = bytearray(256)
                n = self._read_into(got)
                if n:
                    self.received += bytes(got[:n])
                    reply = self.raw_reply(bytes(got[:n])) if callable(self.raw_reply) else self.raw_reply
                    self._write(reply)
                time.sleep(0.002)
                continue
            self.link.poll()
            if self.dev.live_on and time.monotonic() >= self._next_live:
                self._next_live = time.monotonic() + self.live_every_s
                self.live_sent += self.link.event("live", self.live_body(self.live_sent))
            if self.link.idle:
                time.sleep(0.0005)
        if self._dying:
            self._hang_up()

    def _hang_up(self) -> None:
        if not self.dead:
            self.dead = True
            os.close(self.master)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self._hang_up()
        os.close(self.slave)
        self.store.close()

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_dead(self, seconds: float = 2.0) -> bool:
        deadline = time.monotonic() + seconds
        while not self.dead and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.dead


def frame(kind: str, ident: int, name: str, body: dict, version: int = wire.PROTOCOL) -> bytes:
    """A frame as another protocol version would write it (for mismatch tests)."""
    import binascii
    import json

    head = f"@tb{version} {kind} {ident} {name} {json.dumps(body)} ".encode()
    return head + b"%08x\n" % (binascii.crc32(head) & 0xFFFFFFFF)


def device_store(root: str, records: list[dict]) -> str:
    """A device store directory at `root` holding the records, none synced."""
    import json

    st = store.Store(root)
    for rec in records:
        st.add(rec["id"], json.dumps(rec).encode())
    st.close()
    return root
