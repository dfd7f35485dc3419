# The device side of the serial link: framed commands from the host, served
# with bounded work per call so the audio loop never waits on the port.
# The frames are tbfw.wire's; docs/protocol.md lists the commands.
#
# Board side, two callables only:
#   read_into(buf) -> n   copy up to len(buf) received bytes into buf; never
#                         blocks; 0 (or None) when nothing has arrived
#   write(data) -> n      send a prefix of data; never blocks for long; may
#                         send less than all, or nothing (0 or None)
#
# Application side, a `device` object with these methods (each returns
# JSON-able values; raising link.CommandError(code, message) refuses a
# command with that error code; any other exception becomes "internal"):
#   info() -> dict            a new dict (the link adds to it): at least
#                             "device" (id) and "firmware"
#                             (version); also "clock", "counters" (the
#                             store's), "state" and what else helps
#   records() -> list         [{"id", "size", "synced", "seq"}], oldest first
#   open_record(rec_id)       the record for reading in pieces (an object
#                             with size, crc and read_into(offset, buf), as
#                             store.RecordReader), None if there is no such
#                             record; raises store.StoreCorrupt if it fails
#                             its check
#   ack(rec_id)               True: now synced; False: it already was;
#                             None: no such record
#   clock_get() -> int        unix time, seconds
#   time_status() -> dict     {"boot", "uptime_s", "clock_set"}: this boot's
#                             number, seconds since the firmware started,
#                             whether the clock was set since power-up
#   clock_set(unix_s)
#   config_get() -> dict      the user config
#   config_set(changes, evict) changes already validated with tbfw.config;
#                             returns {"config": the new config, "applies":
#                             {key: "now" | "next_session" | "next_boot"}};
#                             evict: how many unsynced sessions the host
#                             confirmed may go (CommandError "would-evict"
#                             when the change would delete more)
#   live(on)                  start/stop the live stream; the app then calls
#                             link.event("live", {...}) as it likes
#   session(action) -> dict   "start", "stop" or "claim"; returns the state
#   selftest(tests) -> dict   {"ok": bool, ...}; tests: list of names or
#                             None for the default set; or DEFERRED, then
#                             the device calls answer_deferred(result) (or
#                             refuse_deferred) when the tests are done
#   reboot()                  called once the answer has been sent
#
# Each poll(): at most one read_into of rx_max bytes, at most one request
# served, at most one chunk of a record encoded, at most tx_max bytes
# written. Output waits in a queue of at most queue_max bytes; live events
# that do not fit are dropped first, answers that do not fit are dropped and
# counted (the host times out and asks again).

from micropython import const

from tbfw import config, wire
from tbfw.store import StoreCorrupt, is_record_id

_PENDING_MAX = const(4)  # requests waiting to be served
# What an argument from the wire may be: what the device can hold and the
# laptop can store (SQLite's 64-bit integers, the store's ids).
_TIME_MIN = const(946684800)  # 2000-01-01, the RTC's epoch
_TIME_MAX = 4102444799  # 2099-12-31 23:59:59, the last second the RTC's calendar holds
_SEQ_MAX = 0xFFFFFFFF  # a record's sequence number is 32 bits
_ACK_MAX = const(64)  # ids per ack (a 1 KB line holds fewer)
_EVICT_MAX = const(100000)  # more than any store holds
_FIELD_MAX = const(32)  # characters of a config key quoted back
_REBOOT_WAIT_POLLS = const(50)  # polls to wait for the answer to drain
_SESSION_ACTIONS = ("start", "stop", "claim")
_LATER = "later"  # a handler's answer that is sent by the stream, not at once
# A device method's answer that the device sends later itself, with
# answer_deferred or refuse_deferred (one such request at a time: selftest).
DEFERRED = "deferred"


class CommandError(Exception):
    """Refuse a command: `code` is a wire error code (wire.E_*)."""

    def __init__(self, code, message, detail=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def _need(body, key, kind, what):
    """body[key] if it is of type `kind` (True/False are not whole numbers)."""
    value = body.get(key)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise CommandError(wire.E_BAD_ARG, "%s: %s" % (key, what))
    return value


def _whole(body, key, low, high, default=None):
    """body[key], a whole number from low to high (default when absent)."""
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CommandError(wire.E_BAD_ARG, "%s: must be a whole number from %d to %d" % (key, low, high))
    return value


class Link:
    def __init__(self, read_into, write, device, rx_max=256, tx_max=256, queue_max=2048):
        self.read_into = read_into
        self.write = write
        self.device = device
        self.rx_max = rx_max
        self.tx_max = tx_max
        self.queue_max = queue_max
        self.decoder = wire.Decoder()
        self._rx = bytearray(rx_max)
        self._out = []  # [frame bytes, droppable]
        self._out_pos = 0  # bytes of _out[0] already written
        self._queued = 0  # bytes waiting
        self._pending = []
        self._stream = None  # [req id, rec id, record reader, offset]
        self._chunk = None  # a part's bytes, made at the first get
        self._reboot_in = -1
        self._deferred = None  # the request a DEFERRED answer is owed to
        self.last_rx = 0
        self.last_tx = 0
        self.counts = {"rx_bytes": 0, "tx_bytes": 0, "requests": 0, "errors": 0, "ignored": 0,
                       "overflow": 0, "tx_dropped": 0, "events_dropped": 0}
        self._handlers = {
            "hello": self._hello,
            "info": self._info,
            "list": self._list,
            "get": self._get,
            "ack": self._ack,
            "clock": self._clock,
            "clock-set": self._clock_set,
            "config": self._config,
            "config-set": self._config_set,
            "live": self._live,
            "session": self._session,
            "selftest": self._selftest,
            "reboot": self._reboot,
        }

    # -- the loop's entry point ------------------------------------------

    def poll(self):
        """Bounded service of the link; call once per main-loop iteration."""
        n = 0
        pending = self._pending
        if len(pending) < _PENDING_MAX:
            n = self.read_into(self._rx) or 0
            if n:
                self.counts["rx_bytes"] += n
                for msg in self.decoder.feed(self._rx, n):
                    if msg.kind != "req":
                        self.counts["ignored"] += 1
                    elif len(pending) < _PENDING_MAX:
                        pending.append(msg)
                    else:
                        self.counts["overflow"] += 1
        self.last_rx = n
        if pending:
            self._serve(pending.pop(0))
        if self._stream is not None and self._queued < self.tx_max:
            self._next_chunk()
        self.last_tx = self._drain() if self._out else 0  # idle: nothing to write
        if self._reboot_in >= 0:
            if not self._queued or self._reboot_in == 0:
                self._reboot_in = -1
                self.device.reboot()
            else:
                self._reboot_in -= 1

    def event(self, name, body=None):
        """Queue an unsolicited frame (e.g. "live"); False if dropped."""
        try:
            frame = wire.event(name, body)
        except wire.WireError:
            self.counts["events_dropped"] += 1
            return False
        if self._queued + len(frame) > self.queue_max // 2:
            self.counts["events_dropped"] += 1
            return False
        self._push(frame, True)
        return True

    def stats(self):
        out = dict(self.counts)
        out.update(self.decoder.stats())
        out["queued"] = self._queued
        return out

    @property
    def idle(self):
        """Nothing waiting to be read, served or written."""
        return not self._pending and self._stream is None and not self._queued

    # -- output ---------------------------------------------------------------

    def _push(self, frame, droppable):
        while self._queued + len(frame) > self.queue_max:
            if not self._drop_one_event():
                self.counts["tx_dropped"] += 1
                return False
        self._out.append([frame, droppable])
        self._queued += len(frame)
        return True

    def _drop_one_event(self):
        for i in range(1, len(self._out)):  # never the frame being written
            if self._out[i][1]:
                self._queued -= len(self._out[i][0])
                self._out.pop(i)
                self.counts["events_dropped"] += 1
                return True
        return False

    def _drain(self):
        budget = self.tx_max
        sent = 0
        while self._out and budget:
            frame = self._out[0][0]
            pos = self._out_pos
            end = min(len(frame), pos + budget)
            n = self.write(memoryview(frame)[pos:end]) or 0
            sent += n
            budget -= n
            self._queued -= n
            if pos + n < len(frame):
                self._out_pos = pos + n
                if n < end - pos:
                    break  # the port takes no more now
            else:
                self._out.pop(0)
                self._out_pos = 0
        self.counts["tx_bytes"] += sent
        return sent

    def _answer(self, msg, result):
        try:
            frame = wire.ok(msg.id, msg.name, result)
        except wire.WireError as exc:
            self._error(msg.id, wire.E_INTERNAL, "answer cannot be sent: %s" % exc)
            return
        self._push(frame, False)

    def _error(self, ident, code, message, detail=None):
        self.counts["errors"] += 1
        try:
            frame = wire.error(ident, code, message, detail)
        except wire.WireError:
            frame = wire.error(ident, code, "error text cannot be sent")
        self._push(frame, False)

    # -- requests -------------------------------------------------------------

    def _serve(self, msg):
        self.counts["requests"] += 1
        handler = self._handlers.get(msg.name)
        if handler is None:
            self._error(msg.id, wire.E_UNKNOWN, "unknown command %s; known: %s"
                        % (msg.name, " ".join(sorted(self._handlers))))
            return
        try:
            result = handler(msg)
        except CommandError as exc:
            self._error(msg.id, exc.code, exc.message, exc.detail)
            return
        except config.ConfigError as exc:
            self._error(msg.id, wire.E_CONFIG, str(exc), {"field": exc.field})
            return
        except StoreCorrupt as exc:
            self._error(msg.id, wire.E_CORRUPT, str(exc), {"rec": exc.rec_id})
            return
        except Exception as exc:  # a device fault must not stop the link
            self._error(msg.id, wire.E_INTERNAL, "%s: %s" % (type(exc).__name__, exc))
            return
        if result is DEFERRED:
            self._deferred = msg
        elif result is not _LATER:
            self._answer(msg, result if isinstance(result, dict) else {"result": result})

    def answer_deferred(self, result):
        """Send the answer owed to the request whose handler said DEFERRED."""
        msg = self._deferred
        self._deferred = None
        if msg is not None:
            self._answer(msg, result)

    def refuse_deferred(self, code, message):
        msg = self._deferred
        self._deferred = None
        if msg is not None:
            self._error(msg.id, code, message)

    def _hello(self, msg):
        info = self.device.info()
        return {"protocol": wire.PROTOCOL, "device": info.get("device"), "firmware": info.get("firmware"),
                "max_line": wire.MAX_LINE, "chunk": wire.CHUNK_BYTES}

    def _info(self, msg):
        """The device's info and the link's counters; what does not fit in a
        frame is left out (the link's counters, then the recent drops). The
        frame that fits is queued as it is: encoded once, not twice."""
        info = self.device.info()  # a new dict each time: no copy
        info["protocol"] = wire.PROTOCOL
        info["link"] = self.stats()
        for trim in ("link", "recent_drops", ""):
            try:
                frame = wire.ok(msg.id, msg.name, info)
            except wire.WireError:
                if trim == "link":
                    del info["link"]
                elif trim and isinstance(info.get("counters"), dict):
                    info["counters"] = dict(info["counters"])
                    info["counters"].pop("recent_drops", None)
                continue
            self._push(frame, False)
            return _LATER
        return info  # too large even so: _answer reports why

    def _list(self, msg):
        """Records with seq > after, as many as fit in one frame."""
        after = _whole(msg.body, "after", 0, _SEQ_MAX, 0)
        room = wire.MAX_LINE - 120
        page = []
        more = False
        records = self.device.records()
        for rec in records:
            if rec["seq"] <= after:
                continue
            entry = {"id": rec["id"], "size": rec["size"], "synced": rec["synced"], "seq": rec["seq"]}
            cost = len(wire.ok(0, "x", entry)) - 20
            if cost > room:
                more = True
                break
            room -= cost
            page.append(entry)
        if more:
            last = page[-1]["seq"] if page else after
            return {"records": page, "total": len(records), "next": last}
        return {"records": page, "total": len(records), "next": None}

    def _get(self, msg):
        rec_id = msg.body.get("rec")
        if not is_record_id(rec_id):
            raise CommandError(wire.E_BAD_ARG, "rec: must be a record id")
        offset = _whole(msg.body, "off", 0, _SEQ_MAX, 0)
        reader = self.device.open_record(rec_id)
        if reader is None:
            raise CommandError(wire.E_NOT_FOUND, "no record %s" % rec_id)
        if offset > reader.size:
            raise CommandError(wire.E_BAD_ARG, "off: %d is past the end (%d bytes)" % (offset, reader.size))
        if self._stream is not None:
            self._error(self._stream[0], wire.E_CANCELLED, "replaced by request %d" % msg.id)
        if self._chunk is None:
            self._chunk = bytearray(wire.CHUNK_BYTES)
        self._stream = [msg.id, rec_id, reader, offset]
        return _LATER  # parts, then the ok, come from _next_chunk

    def _next_chunk(self):
        """One part of the record being sent, read from flash into one
        chunk buffer: a record is never in the heap whole."""
        stream = self._stream
        if stream is None:
            return
        ident, rec_id, reader, offset = stream
        chunk = self._chunk
        if offset < reader.size and chunk is not None:
            try:
                n = reader.read_into(offset, chunk)
            except OSError as exc:
                n = 0
                detail = str(exc)
            else:
                detail = "cut short"
            if n <= 0:  # gone or cut while it was being sent
                self._stream = None
                self._error(ident, wire.E_CORRUPT, "record %s could not be read: %s" % (rec_id, detail),
                            {"rec": rec_id})
                return
            self._push(wire.part(ident, "get", rec_id, offset, memoryview(chunk)[:n]), False)
            stream[3] = offset + n
            return
        self._stream = None
        self._push(wire.ok(ident, "get", {"rec": rec_id, "size": reader.size, "crc": wire.crc_text(reader.crc)}),
                   False)

    def _ack(self, msg):
        recs = msg.body.get("recs")
        if not isinstance(recs, list) or not 0 < len(recs) <= _ACK_MAX:
            raise CommandError(wire.E_BAD_ARG, "recs: must be a list of 1 to %d record ids" % _ACK_MAX)
        acked = []
        already = []
        unknown = []
        for rec_id in recs:
            if not isinstance(rec_id, str):
                raise CommandError(wire.E_BAD_ARG, "recs: must be a list of record ids")
        for rec_id in recs:
            # A string that cannot be an id names no record: unknown.
            done = self.device.ack(rec_id) if is_record_id(rec_id) else None
            (unknown if done is None else acked if done else already).append(rec_id)
        return {"acked": acked, "already": already, "unknown": unknown}

    def _clock(self, msg):
        body = self.device.time_status()
        body["time"] = self.device.clock_get()
        return body

    def _clock_set(self, msg):
        when = _need(msg.body, "time", int, "must be unix time in whole seconds")
        if when < _TIME_MIN:
            raise CommandError(wire.E_BAD_ARG, "time: before 2000-01-01")
        if when > _TIME_MAX:
            raise CommandError(wire.E_BAD_ARG, "time: after 2099-12-31")
        self.device.clock_set(when)
        return {"time": self.device.clock_get()}

    def _config(self, msg):
        return {"config": self.device.config_get()}

    def _config_set(self, msg):
        changes = msg.body.get("set")
        if not isinstance(changes, dict) or not changes:
            raise CommandError(wire.E_BAD_ARG, "set: must be an object of key: value")
        evict = _whole(msg.body, "evict", 0, _EVICT_MAX, 0)
        checked = {}
        for key in changes:  # all or nothing: every value is checked first
            if len(key) > _FIELD_MAX:
                raise config.ConfigError(key[:_FIELD_MAX] + "...", "unknown key")
            checked[key] = config.check_user_value(key, changes[key])
        return self.device.config_set(checked, evict)

    def _live(self, msg):
        on = _need(msg.body, "on", bool, "must be true or false")
        self.device.live(on)
        return {"live": on}

    def _session(self, msg):
        action = msg.body.get("action")
        if action not in _SESSION_ACTIONS:
            raise CommandError(wire.E_BAD_ARG, "action: must be one of " + ", ".join(_SESSION_ACTIONS))
        return self.device.session(action)

    def _selftest(self, msg):
        tests = msg.body.get("tests")
        if tests is not None and not (isinstance(tests, list) and all(isinstance(t, str) for t in tests)):
            raise CommandError(wire.E_BAD_ARG, "tests must be a list of names")
        return self.device.selftest(tests)

    def _reboot(self, msg):
        self._reboot_in = _REBOOT_WAIT_POLLS
        return {"rebooting": True}
