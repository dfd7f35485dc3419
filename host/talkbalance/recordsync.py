"""Sync: bring the device's session records into the local store.

In order: hello (checks the protocol), read the device's clocks (wall clock,
boot, uptime) beside the laptop's, set the device clock to the laptop's,
list the device's records, fetch those the store lacks and those
the device still counts unsynced, check each (size and CRC-32 of the whole,
then that it is a session record with the id the device listed it under),
store each in its own transaction, and only then acknowledge to the device
every record the store now holds.

So an interruption at any point loses nothing and stores nothing twice:
before a record is stored the device still holds it unsynced; after, the
next sync finds it stored and only acknowledges it; the store's key
(device, record id) refuses a second copy.

A record is recognised by its id AND its content. A record the store holds
under the same id with different content (a device whose ids started over)
is a conflict: it is stored beside the first under `<id>~<hash>`, reported,
and then acknowledged, never taken for a copy of the first. A record that
fails its check, or that holds a value the store cannot keep, is reported
and left unacknowledged on the device; the others are stored and
acknowledged.

Each fetched record is checked by talkbalance.recordcheck (its figures
against each other); one that disagrees is reported and stored all the same.
Each record is stored with its date (talkbalance.dating): the device's
clock when it had been set, else for a session of the device's current boot
the laptop's time less the device's uptime since, else "date unknown".
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from talkbalance import recordcheck, records
from talkbalance.dating import DeviceTime, session_date
from talkbalance.device import CorruptRecord, Device, DeviceError
from talkbalance.localstore import LocalStore, Unstorable, canonical

CLOCK_TOLERANCE_S = 2
MAX_ID = 64  # characters of a record id (the device's store)  # a device clock this close is left alone
IN_PROGRESS = ("listening", "session")  # device states with a session not yet saved

# progress(records done, records to fetch, bytes done, bytes to fetch)
Progress = Callable[[int, int, int, int], None]


@dataclass
class SyncResult:
    device: str
    firmware: str
    on_device: int = 0  # records the device listed
    fetched: list[str] = field(default_factory=list)
    new: int = 0  # rows the store gained
    already: int = 0  # listed records the store held before
    acked: int = 0  # marked synced on the device by this sync
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (record id, reason)
    unstorable: list[tuple[str, str]] = field(default_factory=list)  # (record id, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (record id, why it was not fetched)
    lost: list[tuple[str, str]] = field(default_factory=list)  # (record id, reason) lost on the device, never here
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (record id, stored as)
    clock_offset_s: int | None = None  # device clock minus laptop clock, before setting
    device_boot: int | None = None  # the boot the device is in
    undated: list[str] = field(default_factory=list)  # stored as "date unknown": an earlier boot, clock unset
    checked: int = 0  # fetched records the record checker looked at
    check_problems: list[tuple[str, list[str]]] = field(default_factory=list)  # (record id, what disagrees)
    clock_set: bool = False
    device_state: str | None = None  # "session" or "listening" while a session is in progress
    seconds: float = 0.0
    bytes: int = 0

    def summary(self) -> str:
        parts = [f"synced {self.device}: {self.new} new session{'' if self.new == 1 else 's'}",
                 f"{self.already} already here"]
        if self.conflicts:
            n = len(self.conflicts)
            parts.append(f"{n} conflict{'' if n == 1 else 's'} (same id, other content) stored apart")
        if self.corrupt:
            parts.append(f"{len(self.corrupt)} corrupt skipped")
        if self.unstorable:
            parts.append(f"{len(self.unstorable)} not storable, left on the device")
        if self.skipped:
            parts.append(f"{len(self.skipped)} not fetched, left on the device")
        if self.undated:
            parts.append(f"{len(self.undated)} of unknown date (recorded before a restart, clock not set)")
        if self.check_problems:
            n = len(self.check_problems)
            parts.append(f"{n} with figures that disagree (kept)")
        parts.append(f"{self.acked} acknowledged")
        if self.clock_set and self.clock_offset_s is not None:
            parts.append(f"clock set ({_offset_text(self.clock_offset_s)})")
        line = ", ".join(parts) + f" in {self.seconds:.1f} s"
        if self.device_state in IN_PROGRESS:
            line += ("\na session is in progress on the device and is synced once it ends: "
                     "end it with a long press or: talkbalance session stop")
        return line

    def as_dict(self) -> dict:
        return {"device": self.device, "firmware": self.firmware, "on_device": self.on_device,
                "fetched": self.fetched, "new": self.new, "already": self.already, "acked": self.acked,
                "corrupt": [{"id": rid, "reason": why} for rid, why in self.corrupt],
                "unstorable": [{"id": rid, "reason": why} for rid, why in self.unstorable],
                "skipped": [{"id": rid, "reason": why} for rid, why in self.skipped],
                "lost": [{"id": rid, "reason": why} for rid, why in self.lost],
                "conflicts": [{"id": rid, "stored_as": key} for rid, key in self.conflicts],
                "clock_offset_s": self.clock_offset_s, "clock_set": self.clock_set, "undated": self.undated,
                "checked": self.checked,
                "check_problems": [{"id": rid, "problems": what} for rid, what in self.check_problems],
                "device_state": self.device_state,
                "seconds": round(self.seconds, 3), "bytes": self.bytes}


def _offset_text(offset_s: int) -> str:
    size = abs(offset_s)
    if size < 1:
        return "it was right"
    way = "fast" if offset_s > 0 else "slow"
    for unit, seconds in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if size >= 2 * seconds:
            return f"it was {size // seconds} {unit} {way}"
    return f"it was {size} s {way}"


def check_record(data: bytes, rec_id: str) -> dict:
    """The session record in `data`; raises CorruptRecord when it is not one."""
    try:
        rec = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptRecord(rec_id, f"not JSON ({exc})") from None
    if not isinstance(rec, dict):
        raise CorruptRecord(rec_id, "not a JSON object")
    if rec.get("id") != rec_id:
        raise CorruptRecord(rec_id, f"it says it is {rec.get('id')!r}")
    if not isinstance(rec.get("device"), str) or not rec["device"]:
        raise CorruptRecord(rec_id, "no device id")
    if not isinstance(rec.get("talkers"), list) or not rec["talkers"]:
        raise CorruptRecord(rec_id, "no talkers")
    for key in ("start", "duration_s"):
        if isinstance(rec.get(key), bool) or not isinstance(rec.get(key), (int, float)):
            raise CorruptRecord(rec_id, f"{key} is not a number")
    return rec


def sync(dev: Device, store: LocalStore, *, set_clock: bool = True, progress: Progress | None = None,
         clock: Callable[[], float] = time.time) -> SyncResult:
    """One sync; raises LinkError if the link fails (nothing is lost)."""
    began = time.monotonic()
    store.check()  # a damaged store takes nothing: the device keeps every record
    hello = dev.hello()
    device_id = str(hello.get("device"))
    result = SyncResult(device_id, str(hello.get("firmware")))

    # The device's clocks beside the laptop's: what dates this boot's sessions.
    answer = dev.clock()
    now = DeviceTime.from_answer(answer, clock())
    result.device_boot = now.boot
    if now.offset_s is not None:
        result.clock_offset_s = round(now.offset_s)
    if set_clock and (result.clock_offset_s is None or abs(result.clock_offset_s) >= CLOCK_TOLERANCE_S
                      or now.clock_set is False):
        dev.set_clock(round(clock()))
        result.clock_set = True

    listed = []
    for entry in dev.list_records():
        why = _bad_entry(entry)
        if why:
            result.skipped.append((str(entry.get("id") if isinstance(entry, dict) else entry)[:80], why))
        else:
            listed.append(entry)
    result.on_device = len(listed) + len(result.skipped)
    # Fetched: what the store lacks, and what the device still counts
    # unsynced although the store has its id (a sync cut before its ack, or
    # an id issued twice): its content decides which.
    wanted = []
    for entry in listed:
        if not store.has(device_id, entry["id"]):
            wanted.append(entry)
        elif not entry.get("synced"):
            wanted.append(entry)
        else:
            result.already += 1

    total_bytes = sum(int(r.get("size") or 0) for r in wanted)
    done_bytes = 0
    fetched: list[dict] = []

    def count(n: int) -> None:
        nonlocal done_bytes
        done_bytes += n
        if progress is not None:
            progress(len(fetched), len(wanted), done_bytes, total_bytes)

    for entry in wanted:
        rec_id = entry["id"]
        try:
            data = dev.get_record(rec_id, count)
            fetched.append(check_record(data, rec_id))
        except CorruptRecord as exc:
            result.corrupt.append((rec_id, exc.reason))
        except DeviceError as exc:  # gone since the list, say: the others still come
            result.skipped.append((rec_id, f"the device refused it: {exc.device_message} ({exc.code})"))
        if progress is not None:
            progress(len(fetched) + len(result.corrupt), len(wanted), done_bytes, total_bytes)
    result.bytes = done_bytes

    held = []  # ids the store now holds, by id and content
    for rec in fetched:
        rec_id = rec["id"]
        result.checked += 1  # figures that disagree are reported; the record is kept
        problems = [str(p) for p in recordcheck.check(rec)]
        shape = records.shape_problem(rec)
        if shape:  # kept all the same: the store holds what the device sent
            problems.insert(0, f"the commands cannot show it: it {shape}")
        if problems:
            result.check_problems.append((rec_id, problems))
        key = _store_one(store, rec, result, session_date(rec, now))
        if key is not None:
            held.append(rec_id)
            result.fetched.append(rec_id)

    unsynced = {r["id"] for r in listed if not r.get("synced")}
    to_ack = [rec_id for rec_id in held if rec_id in unsynced]
    if to_ack:
        answer = dev.ack(to_ack)
        result.acked = len(answer["acked"])
    info = dev.info()
    state = info.get("state")
    result.device_state = state if isinstance(state, str) else None
    result.lost = _lost_unsynced(info, store, device_id)
    result.seconds = time.monotonic() - began
    return result


def _lost_unsynced(info: dict, store: LocalStore, device_id: str) -> list[tuple[str, str]]:
    """The device's recent losses (its last 8) of sessions this laptop never
    got: evicted unsynced, cut short, corrupt. Said at every sync while the
    device remembers them."""
    counters = info.get("counters")
    recent = counters.get("recent_drops") if isinstance(counters, dict) else None
    out = []
    for entry in recent if isinstance(recent, list) else ():
        if isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry) \
                and not store.has(device_id, entry[0]):
            out.append((entry[0], entry[1]))
    return out


def _bad_entry(entry) -> str:
    """Why an entry of the device's record list cannot be synced ("" when it can)."""
    if not isinstance(entry, dict):
        return "not a record entry"
    rec_id = entry.get("id")
    if not isinstance(rec_id, str) or not 0 < len(rec_id) <= MAX_ID or not rec_id.isprintable() \
            or not rec_id.isascii() or " " in rec_id:
        return "listed with an id that is not one"
    size = entry.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return "listed with a size that is not one"
    return ""


def _store_one(store: LocalStore, rec: dict, result: SyncResult, date: tuple[int | None, str]) -> str | None:
    """Store one checked record, dated `date`, counting it in `result`; the
    row id it is held under, or None when it cannot be stored."""
    rec_id = rec["id"]
    text = canonical(rec)
    before = store.record_text(rec["device"], rec_id)
    if before == text:
        result.already += 1
        return rec_id
    key = rec_id
    if before is not None:  # same id, other content: a conflict, kept apart
        key = f"{rec_id}~{zlib.crc32(text.encode()):08x}"
    try:
        added = store.add(rec, key, date)
        if date[0] is None and added:
            result.undated.append(rec_id)
    except Unstorable as exc:
        result.unstorable.append((rec_id, str(exc)))
        return None
    if key != rec_id:
        result.conflicts.append((rec_id, key))
    if added:
        result.new += 1
    else:
        result.already += 1
    return key
