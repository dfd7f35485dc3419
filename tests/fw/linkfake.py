# A fake device, a fake serial port and a small host for link tests
# (MicroPython and CPython). The device keeps its records in a real Store.
from fwlib import take
from tbfw import config, link, wire
from tbfw.version import VERSION


class FakeDevice:
    def __init__(self, store, device_id="tb-test"):
        self.store = store
        self.device_id = device_id
        self.clock = 1700000000
        self.clock_was_set = False
        self.cfg = config.defaults()
        self.live_on = False
        self.state = "idle"
        self.claims = 0
        self.reboots = 0
        self.fail_next = None  # an exception the next info() raises

    def info(self):
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return {"device": self.device_id, "firmware": VERSION, "clock": self.clock, "state": self.state,
                "counters": self.store.counters()}

    def records(self):
        return self.store.records()

    def open_record(self, rec_id):
        return self.store.open_read(rec_id) if rec_id in self.store else None

    def ack(self, rec_id):
        return self.store.ack(rec_id) if rec_id in self.store else None

    def clock_get(self):
        return self.clock

    def clock_set(self, unix_s):
        self.clock = unix_s
        self.clock_was_set = True

    def time_status(self):
        return {"boot": 1, "uptime_s": 0, "clock_set": self.clock_was_set}

    def config_get(self):
        return dict(self.cfg)

    def config_set(self, changes, evict=0):
        self.cfg.update(changes)
        return {"config": dict(self.cfg), "applies": {key: "now" for key in changes}}

    def live(self, on):
        self.live_on = on

    def session(self, action):
        if action == "start":
            if self.state == "session":
                raise link.CommandError(wire.E_BUSY, "a session is already running")
            self.state = "session"
        elif action == "stop":
            self.state = "idle"
        else:
            self.claims += 1
        return {"state": self.state, "claims": self.claims}

    def selftest(self, tests=None):
        return {"ok": True, "checks": {"store": "ok", "mics": "ok"}}

    def reboot(self):
        self.reboots += 1


class FakePort:
    """Bytes to the device, bytes from it; `write_limit` bytes per write
    call (None: all, 0: the host is not reading)."""

    def __init__(self, write_limit=None):
        self.to_device = b""
        self.from_device = b""
        self.write_limit = write_limit
        self.max_read = 0
        self.max_write = 0

    def read_into(self, buf):
        n, self.to_device = take(buf, self.to_device)
        return n

    def write(self, data):
        n = len(data) if self.write_limit is None else min(self.write_limit, len(data))
        self.from_device += bytes(data[:n])
        self.max_write = max(self.max_write, n)
        return n


class Host:
    """Sends requests through a FakePort and polls the link for answers."""

    def __init__(self, lnk, port):
        self.link = lnk
        self.port = port
        self.decoder = wire.Decoder()
        self.next_id = 1
        self.events = []
        self.other = []

    def send(self, name, args=None):
        ident = self.next_id
        self.next_id += 1
        self.port.to_device += b"\n" + wire.request(ident, name, args)
        return ident

    def replies(self, ident, polls=500):
        """Every frame answering `ident`, up to and including the ok or err."""
        got = []
        for _ in range(polls):
            self.link.poll()
            out, self.port.from_device = self.port.from_device, b""
            for msg in self.decoder.feed(out):
                if msg.kind == "evt":
                    self.events.append(msg)
                elif msg.id != ident:
                    self.other.append(msg)
                else:
                    got.append(msg)
                    if msg.kind in ("ok", "err"):
                        return got
        raise AssertionError("no answer to request %d after %d polls: %r" % (ident, polls, got))

    def call(self, name, args=None):
        """The final ok or err frame of one request."""
        return self.replies(self.send(name, args))[-1]

    def get(self, rec_id, offset=0):
        msgs = self.replies(self.send("get", {"rec": rec_id, "off": offset}))
        if msgs[-1].kind == "err":
            return msgs[-1]
        asm = wire.Assembler(rec_id, offset)
        for msg in msgs[:-1]:
            asm.add(msg)
        return asm, msgs[-1]
