"""When a session took place: a true date, or "date unknown", never an invented one.

The device's wall clock counts from a default after every power-up until a
sync sets it (docs/board.md). So each record carries, besides `start` (the
device's wall clock then), `boot` (the boot it ran in), `uptime_s` (seconds
since the firmware started) and `clock_set` (whether the wall clock had been
set since power-up). A sync reads the device's clocks beside the laptop's
(`DeviceTime`) and dates each record it stores (`session_date`):

- `clock_set`: the wall clock was right, so `start` is the date;
- otherwise, a session of the boot the device is still in: the laptop's
  time at the sync minus the uptime that has passed since the session
  began (`uptime_s`); a record without `uptime_s` (schema 1), while the
  device's clock is still unset, by the clock's offset from the laptop's;
- otherwise the date is unknown: nothing on the device says how long ago
  that boot was. Such sessions are listed by boot and session among the
  same device's dated ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

BY_DEVICE_CLOCK = "device clock"  # the wall clock had been set
AT_SYNC = "dated at sync"  # this boot's session, from the device's uptime or clock offset
UNKNOWN = "unknown"


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(value) -> float | None:
    """A finite number of seconds, else None."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


@dataclass(frozen=True)
class DeviceTime:
    """The device's clocks as a sync read them, and the laptop's then."""

    laptop_s: float
    device_s: int | None
    boot: int | None
    uptime_s: float | None
    clock_set: bool | None

    @classmethod
    def from_answer(cls, answer: dict, laptop_s: float) -> DeviceTime:
        """From the device's `clock` answer (any field may be missing or wrong)."""
        flag = answer.get("clock_set")
        return cls(laptop_s, _int(answer.get("time")), _int(answer.get("boot")), _seconds(answer.get("uptime_s")),
                   flag if isinstance(flag, bool) else None)

    @property
    def offset_s(self) -> float | None:
        """Device wall clock minus the laptop's."""
        return None if self.device_s is None else self.device_s - self.laptop_s


def session_date(rec: dict, now: DeviceTime | None = None) -> tuple[int | None, str]:
    """(Unix seconds or None, how it was found) for a record; `now` is the
    device's time read by the sync that stores it (None: no device)."""
    start = _int(rec.get("start"))
    flag = rec.get("clock_set")
    if flag is True and start is not None:
        return start, BY_DEVICE_CLOCK
    boot = _int(rec.get("boot"))
    if now is not None and boot is not None and boot == now.boot:
        up = _seconds(rec.get("uptime_s"))
        if up is not None and now.uptime_s is not None and 0 <= up <= now.uptime_s:
            return round(now.laptop_s - (now.uptime_s - up)), AT_SYNC
        offset = now.offset_s
        if up is None and now.clock_set is False and start is not None and offset is not None:
            return round(start - offset), AT_SYNC
    if "clock_set" not in rec and start is not None:
        return start, BY_DEVICE_CLOCK  # schema 1 kept no flag: its clock is all there is
    return None, UNKNOWN


def _order(rec: dict) -> tuple[int, int]:
    return (_int(rec.get("boot")) or 0, _int(rec.get("session")) or 0)


def chronological(rows: Iterable, date_of, record_of) -> list:
    """`rows` oldest first. Dated rows by date; a row of unknown date goes
    right after the same device's last dated row before it in boot and
    session order (or right before its first dated one after)."""
    rows = list(rows)
    by_device: dict[str, list] = {}
    for row in rows:
        by_device.setdefault(str(record_of(row).get("device")), []).append(row)
    keys = {}
    for device, group in by_device.items():
        group.sort(key=lambda r: _order(record_of(r)))
        dates = [date_of(r) for r in group]
        for i, row in enumerate(group):
            when = dates[i]
            if when is None:
                before = [d for d in dates[:i] if d is not None]
                after = [d for d in dates[i + 1:] if d is not None]
                when = before[-1] if before else after[0] if after else 0
            keys[id(row)] = (when, device, _order(record_of(row)))
    return sorted(rows, key=lambda r: keys[id(r)])
