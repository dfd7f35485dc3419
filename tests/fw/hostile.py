# Helpers for the hostile-input tests under MicroPython: the simulated board
# with its serial link in memory (no pseudo-terminal, no pacing), a host
# that talks to the running app through it, and flash-folder tools.
import os

from fwlib import board_path, take
from tbfw import app, board_sim, wire

_MAX_STEPS = 3000  # audio frames to wait for one answer (60 s of device time)


class MemBoard(board_sim.SimBoard):
    """SimBoard in a quiet room, as fast as it goes; serial in memory; the
    log kept; a reboot recorded instead of leaving the process."""

    def __init__(self, root):
        board_sim.SimBoard.__init__(self, board_path(), flash_dir=root)
        self.rx = bytearray()
        self.tx = bytearray()
        self.logs = []
        self.reboots = 0

    def read_frame(self):
        pcm = self._pcm
        if pcm is None:
            pcm = self.start_audio(self.desc["sample_rate_hz"] // 50)
        step = len(self._quiet)
        whole = len(pcm) - len(self._quiet_tail)
        for pos in range(0, whole, step):
            pcm[pos:pos + step] = self._quiet
        pcm[whole:] = self._quiet_tail
        self.frames += 1
        return True

    def serial_read(self, buf):
        n, self.rx = take(buf, self.rx)
        return n

    def serial_write(self, data):
        self.tx.extend(data)
        return len(data)

    def reboot(self):
        self.reboots += 1

    def log(self, text):
        self.logs.append(text)
        if len(self.logs) > 200:
            self.logs.pop(0)


class Host:
    """Requests to a running App through its board; answers by request id."""

    def __init__(self, dev):
        self.dev = dev
        self.board = dev.board
        self.ident = 0
        self.steps = 0

    def send(self, name, args=None):
        self.ident += 1
        self.board.rx.extend(wire.request(self.ident, name, args))
        return self.ident

    def replies(self, ident):
        """Every frame answering `ident`, up to and including its ok or err."""
        got = []
        for _ in range(_MAX_STEPS):
            self.dev.step()
            self.steps += 1
            tx = self.board.tx
            pos = 0
            found = []
            while True:
                nl = tx.find(b"\n", pos)
                if nl < 0:
                    break
                found.append(wire.parse_line(bytes(tx[pos:nl])))
                pos = nl + 1
            self.board.tx = tx[pos:]
            for msg in found:
                if msg is not None and msg.id == ident:
                    got.append(msg)
                    if msg.kind in ("ok", "err"):
                        return got
        raise AssertionError("no answer to request %d in %d frames" % (ident, _MAX_STEPS))

    def call(self, name, args=None):
        """The final ok or err frame of one request."""
        return self.replies(self.send(name, args))[-1]

    def get(self, rec_id):
        """The record's bytes, checked (size and CRC-32) as a sync checks them."""
        msgs = self.replies(self.send("get", {"rec": rec_id}))
        final = msgs[-1]
        assert final.kind == "ok", (rec_id, final.name, final.body)
        asm = wire.Assembler(rec_id)
        for msg in msgs[:-1]:
            asm.add(msg)
        return asm.finish(final)

    def listed(self):
        """{id: synced} of every record the device lists (all pages)."""
        out = {}
        after = 0
        while True:
            msg = self.call("list", {"after": after})
            assert msg.kind == "ok", msg.body
            for rec in msg.body["records"]:
                out[rec["id"]] = rec["synced"]
            if msg.body["next"] is None:
                return out
            after = msg.body["next"]

    def syncable(self):
        """{id: bytes} of every record: each listed, fetched and checked."""
        out = {}
        for rec_id in self.listed():
            out[rec_id] = self.get(rec_id)
        return out


def boot(root):
    """A fresh App on the flash at `root`, as after a power-on; its Host."""
    return Host(app.App(MemBoard(root)))


def save_session(host):
    """Start and stop a session through the link: a record is saved."""
    dev = host.dev
    before = dev.saved
    assert host.call("session", {"action": "start"}).kind == "ok"
    msg = host.call("session", {"action": "stop"})
    assert msg.kind == "ok", msg.body
    assert dev.saved == before + 1, dev.board.logs[-3:]
    return dev.conv.record_id()  # the id it was saved under


def rmtree(path):
    try:
        entries = list(os.ilistdir(path))
    except OSError:
        try:
            os.remove(path)
        except OSError:
            pass
        return
    for entry in entries:
        child = path + "/" + entry[0]
        if entry[1] == 0x4000:
            rmtree(child)
        else:
            os.remove(child)
    os.rmdir(path)


def copytree(src, dst):
    os.mkdir(dst)
    for entry in os.ilistdir(src):
        a = src + "/" + entry[0]
        b = dst + "/" + entry[0]
        if entry[1] == 0x4000:
            copytree(a, b)
        else:
            with open(a, "rb") as f:
                data = f.read()
            with open(b, "wb") as f:
                f.write(data)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False
