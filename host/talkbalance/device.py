"""The laptop's side of the serial link: requests to the device, answers back.

Frames are tbfw.wire's (the same module runs on the device); the commands
are listed in docs/protocol.md. `Device` sends one request at a time, waits
for the answer with the same id, and asks again (with a new id) when none
comes in time; `get_record` joins a record's chunks, resumes after a lost
chunk and checks the size and CRC-32 of the whole.

The port is opened with `serial.serial_for_url`, so any pyserial URL works
(`loop://`, `socket://host:port`, `spy:///dev/ttyACM0`, a pty path). DTR and
RTS are set before the port opens, both asserted: that is the state the
operating system itself gives a port on open, in which the auto-reset
transistors of an ESP32 board hold neither EN nor IO0 low (one line alone
would reset it or select the bootloader), the lines never pass through
"RTS only" (which, followed by "DTR only", reboots an ESP32-S3's native USB
into its bootloader), and MicroPython's native USB-CDC sends output (it
only does while DTR is asserted).

Every fault the user can act on becomes a LinkError with one clear line:
no device at that port, port busy, the device at the MicroPython prompt
instead of running the app, another protocol version, no answer in time,
the device lost mid-way, a record that fails its check (CorruptRecord).
"""

from __future__ import annotations

import base64
import errno
import os
import random
import re
import time
from collections.abc import Callable, Iterator

import serial

from talkbalance.errors import LinkError
from talkbalance.fw import wire

BAUD = 115200
DEFAULT_TIMEOUT = 2.0  # seconds to wait for an answer
DEFAULT_RETRIES = 2  # further tries after the first
_READ_SLICE_S = 0.05  # one blocking read; bounds how late a deadline is seen
_TAIL_BYTES = 512  # raw input kept to recognise a REPL or another protocol
_NOISY_TRIES = 8  # attempts in a row that got frames but no new chunk
_ACK_LINE_BUDGET = wire.MAX_LINE - 120  # bytes of record ids per ack request
_ACK_MAX_IDS = 64  # record ids per ack request (the device takes no more)

# What the MicroPython REPL prints: the friendly prompt, the raw REPL banner,
# the boot banner, or a traceback.
_REPL_SIGNS = (b">>> ", b"raw REPL; CTRL-B to exit", b'Type "help()" for more information',
               b"Traceback (most recent call last)")
_ANY_MARKER = re.compile(rb"@tb(\d+) (?:ok|err|part|evt) ")

try:  # errors a port raises when the device goes away (termios.error is no OSError)
    import termios

    _IO_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # Windows
    _IO_ERRORS = (serial.SerialException, OSError)


class DeviceError(LinkError):
    """The device refused a request: `code` is the wire error code."""

    def __init__(self, code: str, message: str, detail: dict | None = None):
        super().__init__(f"the device refused: {message} ({code})")
        self.code = code
        self.device_message = message
        self.detail = detail or {}


class ConfigRefused(DeviceError):
    """The device refused a settings change (a key or value it does not take)."""


class WouldEvict(DeviceError):
    """A settings change would delete `unsynced` sessions not yet synced."""

    def __init__(self, code: str, message: str, detail: dict | None = None):
        super().__init__(code, message, detail)
        lost = self.detail.get("unsynced")
        self.unsynced = lost if isinstance(lost, int) and not isinstance(lost, bool) else 0


class CorruptRecord(LinkError):
    """A record failed its check (on the device's flash or on the way)."""

    def __init__(self, rec: str, reason: str):
        super().__init__(f"record {rec} is corrupt: {reason}")
        self.rec = rec
        self.reason = reason


def _is_path(url: str) -> bool:
    return "://" not in url


def open_port(url: str, read_timeout: float = _READ_SLICE_S) -> serial.SerialBase:
    """Open a serial port (path or pyserial URL) without resetting an ESP32."""
    kwargs = {}
    if _is_path(url) and os.name == "posix":
        kwargs["exclusive"] = True  # a second talkbalance or mpremote fails at once
    try:
        port = serial.serial_for_url(url, baudrate=BAUD, timeout=read_timeout, write_timeout=2.0,
                                     do_not_open=True, **kwargs)
    except (ValueError, serial.SerialException) as exc:
        raise LinkError(f"{url}: not a serial port or pyserial URL ({exc})",
                        "give a device path such as /dev/ttyACM0, or a URL such as socket://HOST:PORT") from None
    port.dtr = True
    port.rts = True
    try:
        port.open()
    except (serial.SerialException, OSError) as exc:
        raise _open_error(url, exc) from None
    return port


def _open_error(url: str, exc: Exception) -> LinkError:
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.ENOENT, errno.ENXIO, errno.ENODEV) or "No such file" in text:
        return LinkError(f"no device at {url}", "is it plugged in? talkbalance ports lists the serial ports")
    if code in (errno.EBUSY, errno.EAGAIN) or "lock" in text.lower() or "busy" in text.lower():
        return LinkError(f"port busy: another program has {url} open",
                         "close mpremote, a serial terminal or another talkbalance, then try again")
    if code == errno.EACCES or "Permission denied" in text:
        return LinkError(f"no permission to open {url}",
                         "on Linux add yourself to the dialout group (sudo usermod -aG dialout $USER), "
                         "then log in again")
    if "ConnectionRefused" in text or "Connection refused" in text:
        return LinkError(f"nothing listens at {url}")
    return LinkError(f"cannot open {url}: {text}")


class Device:
    """A talkbalance device on an open port (see `connect`)."""

    def __init__(self, port: serial.SerialBase, name: str = "", timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES):
        self.port = port
        self.name = name or str(getattr(port, "name", None) or getattr(port, "port", "") or "the port")
        self.timeout = timeout
        self.retries = retries
        self.decoder = wire.Decoder()
        # Ids start at random so that answers still queued from an earlier,
        # interrupted run cannot be taken for answers to this one.
        self._next_id = random.randrange(1, 500_000_000)
        self._tail = b""
        self.device_frames = 0  # valid frames seen from the device
        self.bytes_in = 0
        self.events: list[wire.Message] = []
        self.hello_body: dict | None = None

    @classmethod
    def connect(cls, url: str, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES) -> Device:
        return cls(open_port(url), url, timeout, retries)

    def close(self) -> None:
        try:
            self.port.close()
        except _IO_ERRORS:
            pass

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- bytes in and out -----------------------------------------------------

    def _lost(self, exc: Exception) -> LinkError:
        return LinkError(f"lost the device on {self.name} ({exc})",
                         "check the cable and run the command again; nothing is lost")

    def _send(self, name: str, args: dict | None = None) -> int:
        ident = self._next_id
        self._next_id = ident + 1 if ident < 999_999_999 else 1
        frame = b"\n" + wire.request(ident, name, args)  # "\n" ends any partial line
        try:
            self.port.write(frame)
        except _IO_ERRORS as exc:
            raise self._lost(exc) from None
        return ident

    def _read(self) -> list[wire.Message]:
        """What arrives within one read slice, decoded."""
        try:
            waiting = self.port.in_waiting
            data = self.port.read(max(1, min(waiting, 4096)))
        except _IO_ERRORS as exc:
            raise self._lost(exc) from None
        if not data:
            return []
        self.bytes_in += len(data)
        self._tail = (self._tail + data)[-_TAIL_BYTES:]
        msgs = []
        for msg in self.decoder.feed(data):
            if msg.kind == "req":
                continue  # our own request echoed: a terminal, not the app
            self.device_frames += 1
            msgs.append(msg)
        if not self.device_frames:
            self._check_not_app()
        return msgs

    def _check_not_app(self) -> None:
        """Raise when what arrives is a REPL or another protocol version."""
        found = _ANY_MARKER.search(self._tail)
        if found and int(found.group(1)) != wire.PROTOCOL:
            raise _version_error(int(found.group(1)))
        if any(sign in self._tail for sign in _REPL_SIGNS):
            raise LinkError(f"the device on {self.name} is at the MicroPython prompt (REPL), "
                            "not running talkbalance",
                            "restart it (press reset, or: mpremote connect PORT soft-reset + exec "
                            "'import main'), or install the firmware with: talkbalance deploy")

    def _timeout_error(self, name: str, tries: int) -> LinkError:
        if any(sign in self._tail for sign in _REPL_SIGNS):
            return LinkError(f"the device on {self.name} stopped the talkbalance app and is at the "
                             "MicroPython prompt (REPL)",
                             "see what it printed with: mpremote connect PORT repl; restart it with reset")
        if not self.bytes_in:
            return LinkError(f"timeout: no answer to {name} from {self.name} after {tries} tries",
                             "is the talkbalance firmware running? (talkbalance deploy installs it)")
        if not self.device_frames:
            return LinkError(f"timeout: {self.name} sends text but no talkbalance frames",
                             "is it a talkbalance device at 115200 baud? talkbalance ports lists the ports")
        return LinkError(f"timeout: no answer to {name} from {self.name} after {tries} tries",
                         "the device may be busy; try again")

    def _wait(self, ident: int, deadline: float) -> Iterator[wire.Message]:
        """Frames answering `ident` until the deadline; events are kept."""
        while time.monotonic() < deadline:
            for msg in self._read():
                if msg.kind == "evt":
                    self.events.append(msg)
                elif msg.id == ident:
                    yield msg
                # an answer to an older request: too late, dropped

    # -- requests -----------------------------------------------------------------

    def call(self, name: str, args: dict | None = None, *, timeout: float | None = None,
             retries: int | None = None) -> dict:
        """Send a request and return the body of its ok answer.

        Asks again (with a fresh id) when no answer comes in time; the
        commands used this way are all safe to repeat. An err answer raises
        DeviceError.
        """
        timeout = self.timeout if timeout is None else timeout
        tries = 1 + (self.retries if retries is None else retries)
        for _ in range(tries):
            ident = self._send(name, args)
            for msg in self._wait(ident, time.monotonic() + timeout):
                if msg.kind == "ok":
                    return msg.body
                if msg.kind == "err":
                    raise DeviceError(msg.name, str(msg.body.get("msg", "")), msg.body.get("detail"))
        raise self._timeout_error(name, tries)

    def hello(self) -> dict:
        """Say hello; checks the protocol version. Returns the hello body."""
        body = self.call("hello", {"protocol": wire.PROTOCOL})
        if body.get("protocol") != wire.PROTOCOL:
            raise _version_error(body.get("protocol"))
        self.hello_body = body
        return body

    @property
    def device_id(self) -> str:
        if self.hello_body is None:
            self.hello()
        assert self.hello_body is not None
        return str(self.hello_body.get("device"))

    def list_records(self) -> list[dict]:
        """Every record the device holds, oldest first: {"id", "size", "synced", "seq"}."""
        out: list[dict] = []
        after = 0
        while True:
            body = self.call("list", {"after": after})
            out += body.get("records", [])
            nxt = body.get("next")
            if nxt is None:
                return out
            if not isinstance(nxt, int) or nxt <= after:
                raise LinkError(f"the device's record list does not advance (next {nxt!r} after {after})")
            after = nxt

    def get_record(self, rec_id: str, on_bytes: Callable[[int], None] | None = None) -> bytes:
        """A record's bytes, checked against the size and CRC-32 the device sends.

        A lost or garbled chunk ends the attempt; the next asks from where the
        good bytes end. Raises CorruptRecord when the device reports the record
        corrupt or the whole fails its CRC twice.
        """
        prefix = b""
        crc_failures = 0
        silent = noisy = 0  # attempts in a row without progress
        while True:
            start = len(prefix)
            ident = self._send("get", {"rec": rec_id, "off": start})
            asm = wire.Assembler(rec_id, start)
            chunks: list[bytes] = []
            deadline = time.monotonic() + self.timeout
            finished = None
            answered = False
            for msg in self._wait(ident, deadline):
                answered = True
                if msg.kind == "err":
                    if msg.name == wire.E_CORRUPT:
                        raise CorruptRecord(rec_id, "failed its check on the device's flash")
                    raise DeviceError(msg.name, str(msg.body.get("msg", "")), msg.body.get("detail"))
                if msg.kind == "part":
                    try:
                        asm.add(msg)
                    except wire.WireError:
                        break  # a chunk went missing: resume after the good ones
                    chunk = base64.b64decode(msg.body["data"])
                    chunks.append(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                    deadline = time.monotonic() + self.timeout
                    continue
                finished = msg
                break
            got = b"".join(chunks)
            if finished is not None:
                try:
                    return asm.finish(finished, prefix)
                except wire.WireError as exc:
                    size = finished.body.get("size")
                    if isinstance(size, int) and len(prefix) + len(got) < size:
                        prefix += got  # the last chunks were lost: resume
                        continue
                    crc_failures += 1
                    if crc_failures > 1:
                        raise CorruptRecord(rec_id, str(exc)) from None
                    prefix = b""  # start over once
                    continue
            if got:
                prefix += got
                silent = noisy = 0
            elif answered:
                noisy += 1  # frames came but the next chunk was garbled: a noisy line
                if noisy > _NOISY_TRIES:
                    raise LinkError(f"the line to {self.name} garbles too many frames to fetch {rec_id}",
                                    "try another USB cable or port")
            else:
                silent += 1
                if silent > self.retries:
                    raise self._timeout_error("get", silent)

    def ack(self, rec_ids: list[str]) -> dict:
        """Mark records synced on the device, in as many requests as needed.

        Returns {"acked": [...], "already": [...], "unknown": [...]}.
        """
        out: dict[str, list] = {"acked": [], "already": [], "unknown": []}
        batch: list[str] = []
        size = 0
        for rec_id in list(rec_ids) + [None]:  # None flushes the last batch
            if rec_id is not None and size + len(rec_id) + 4 <= _ACK_LINE_BUDGET and len(batch) < _ACK_MAX_IDS:
                batch.append(rec_id)
                size += len(rec_id) + 4
                continue
            if batch:
                body = self.call("ack", {"recs": batch})
                for key in out:
                    out[key] += body.get(key, [])
            batch = [] if rec_id is None else [rec_id]
            size = 0 if rec_id is None else len(rec_id) + 4
        return out

    def session(self, action: str) -> dict:
        """Start, stop or claim ("start", "stop", "claim") as the button does.

        "claim" twice is a press then a release: between them the device
        takes the voice it hears as the initiator's. Returns {"state",
        "saved" (sessions saved since boot), "claiming", "bound_by"}.
        """
        return self.call("session", {"action": action})

    def info(self) -> dict:
        """The device's info answer (docs/protocol.md)."""
        return self.call("info")

    def clock(self) -> dict:
        """The device's clocks: {"time" (wall clock, Unix seconds), "boot",
        "uptime_ms", "set" (whether set since power-up), ...}."""
        return self.call("clock")

    def set_clock(self, unix_s: int) -> dict:
        """Set the device's wall clock; returns the clock answer after it."""
        return self.call("clock-set", {"time": int(unix_s)})

    def config(self) -> dict:
        """The device's user settings, key -> value."""
        return self.call("config")["config"]

    def set_config(self, changes: dict, evict: int = 0) -> dict:
        """Change user settings; returns {"config", "applies" (key -> when)}.

        Raises WouldEvict when the change would delete more unsynced
        sessions than `evict` allows, ConfigRefused when the device refuses
        a key or value.
        """
        try:
            return self.call("config-set", {"set": changes, "evict": max(0, evict)})
        except DeviceError as exc:
            if exc.code == wire.E_WOULD_EVICT:
                raise WouldEvict(exc.code, exc.device_message, exc.detail) from None
            if exc.code == wire.E_CONFIG:
                raise ConfigRefused(exc.code, exc.device_message, exc.detail) from None
            raise

    def selftest(self, tests: list[str], timeout: float) -> dict:
        """Run the device's self-test (asked once: a test may need the user)."""
        return self.call("selftest", {"tests": tests}, timeout=timeout, retries=0)

    def live(self, on: bool) -> dict:
        """Turn the live events on or off (off is asked once: the device may be gone)."""
        return self.call("live", {"on": on}, retries=None if on else 0)

    def live_events(self, seconds: float) -> list[dict]:
        """The bodies of the live events that arrive within `seconds`."""
        return [msg.body for msg in self.read_events(seconds) if msg.name == "live"]

    def read_events(self, seconds: float) -> list[wire.Message]:
        """Events (e.g. "live") that arrive within `seconds` (and any kept before)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.events:
            for msg in self._read():
                if msg.kind == "evt":
                    self.events.append(msg)
        out, self.events = self.events, []
        return out

    def forget(self) -> None:
        """Forget what arrived so far (e.g. a REPL's prompt before a reset)."""
        self._tail = b""
        self.bytes_in = 0
        self.device_frames = 0
        self.decoder.reset()

    def soft_reset_to_app(self) -> None:
        """From the MicroPython prompt: leave the raw REPL (Ctrl-B), then soft
        reset (Ctrl-D) in the friendly REPL, which runs main.py."""
        try:
            self.port.write(b"\r\x03\r\x02")
            time.sleep(0.2)
            self.port.reset_input_buffer()
            self.port.write(b"\x04")
        except _IO_ERRORS as exc:
            raise self._lost(exc) from None
        self.forget()


def _version_error(theirs) -> LinkError:
    if isinstance(theirs, int) and theirs > wire.PROTOCOL:
        hint = "this talkbalance is older than the firmware: upgrade it (pip install -U talkbalance)"
    else:
        hint = "the firmware is older than this talkbalance: update it with: talkbalance deploy"
    return LinkError(f"protocol mismatch: the device speaks link protocol {theirs}, "
                     f"this talkbalance speaks {wire.PROTOCOL}", hint)

