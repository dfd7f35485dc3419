"""The laptop's session store: SQLite in the user's data directory.

One row per session record, keyed by (device, record id), so the same record
from the same device is never stored twice. Labels (who the meeting was with,
a note, whether a follow-up was agreed) live beside the records: the device
knows no names. The file is created owner-only (0600) in an owner-only
directory. The schema is versioned with `PRAGMA user_version` and migrated
forward on open.

Every SQLite or file-system fault becomes a named error with one line and a
hint (`StoreMissing`, `StoreUnwritable`, `StoreCorrupt`), never a traceback.
Partner names match whatever their case.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from talkbalance import dating, records, text
from talkbalance.errors import InputError, StoreCorrupt, StoreMissing, StoreUnwritable
from talkbalance.recordcheck import finite_number

DB_ENV = "TALKBALANCE_DB"

_MIGRATIONS = [
    # 1: records and labels
    """
    CREATE TABLE sessions (
        device TEXT NOT NULL,
        id TEXT NOT NULL,
        start INTEGER NOT NULL,
        duration_s REAL NOT NULL,
        initiator_share REAL,
        record TEXT NOT NULL,
        stored_at INTEGER NOT NULL,
        PRIMARY KEY (device, id)
    );
    CREATE TABLE labels (
        device TEXT NOT NULL,
        id TEXT NOT NULL,
        partner TEXT,
        note TEXT,
        follow_up INTEGER,
        PRIMARY KEY (device, id)
    );
    CREATE INDEX labels_partner ON labels (partner);
    """,
    # 2: each session's date as the sync found it (talkbalance.dating):
    # Unix seconds or NULL (date unknown), and how it was found. Rows stored
    # before had only the device's clock.
    """
    ALTER TABLE sessions ADD COLUMN date_s INTEGER;
    ALTER TABLE sessions ADD COLUMN date_how TEXT NOT NULL DEFAULT 'device clock';
    UPDATE sessions SET date_s = start;
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)
_DATE_MAX_S = 253_402_300_799  # 9999-12-31 23:59:59 UTC: the last date the commands can print
_OWN_TABLES = {"sessions", "labels"}  # what the first migration made: a store of any version has them


class Unstorable(Exception):
    """A record holds a value the session store cannot keep."""


def canonical(rec: dict) -> str:
    """The text a record is stored as: equal texts, equal records."""
    return json.dumps(rec, sort_keys=True)


_INSERT = ("INSERT OR IGNORE INTO sessions (device, id, start, duration_s, initiator_share, record, stored_at, "
           "date_s, date_how) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _row_of(rec: dict, row_id: str, date: tuple[int | None, str] | None = None) -> tuple:
    talkers = rec.get("talkers") or [{}]
    date_s, how = date if date is not None else dating.session_date(rec)
    share = talkers[0].get("share")  # a column to sort by: a number or NULL; the record keeps what it said
    return (rec["device"], row_id, int(rec.get("start", 0)), float(rec.get("duration_s", 0)),
            share if finite_number(share) else None, canonical(rec), int(time.time()), date_s, how)


def default_path() -> Path:
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("talkbalance")) / "sessions.sqlite3"


@dataclass
class Stored:
    device: str
    id: str
    record: dict
    partner: str | None
    note: str | None
    follow_up: bool | None
    date_s: int | None = None  # when the session began (Unix seconds); None: date unknown
    date_how: str = dating.BY_DEVICE_CLOCK

    @property
    def key(self) -> str:
        return self.id if self.id.startswith(self.device + "-") else f"{self.device}:{self.id}"


_RECOVER_HINT = ("restore the file from a backup, or save what can be read with: "
                 "sqlite3 BROKEN .recover | sqlite3 NEW, then use --db NEW")
_T = TypeVar("_T")


def _store_error(path: Path, exc: sqlite3.Error) -> Exception:
    """The named error for what SQLite said about the store at `path`."""
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_READONLY or "readonly" in text:
        return StoreUnwritable(f"cannot write the session store {path}: it is read-only",
                               "make the file and its folder writable, or use --db to pick another file")
    if code == sqlite3.SQLITE_CANTOPEN or "unable to open" in text:
        return StoreUnwritable(f"cannot open the session store {path}",
                               "check that its folder exists and is yours, or use --db to pick another file")
    if code == sqlite3.SQLITE_BUSY or "locked" in text:
        return StoreUnwritable(f"the session store {path} is in use by another program",
                               "close it (another talkbalance?) and try again")
    if code == sqlite3.SQLITE_FULL or "full" in text:
        return StoreUnwritable(f"no space left to write the session store {path}", "free some disk space")
    if code == sqlite3.SQLITE_NOTADB or "not a database" in text:
        return StoreCorrupt(f"{path}: not a talkbalance session store ({text})", "use --db to pick another file")
    return StoreCorrupt(f"the session store {path} is damaged ({text})", _RECOVER_HINT)


def _guarded(method: Callable[..., _T]) -> Callable[..., _T]:
    """Turn a SQLite fault inside a store method into a named error."""

    @functools.wraps(method)
    def wrapper(self: LocalStore, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from None

    return wrapper


def _casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


class LocalStore:
    """The store at `path` (default: default_path()). With create=False a
    missing store is refused (StoreMissing) instead of made; `created` says
    whether this open made it."""

    def __init__(self, path: str | Path | None = None, *, create: bool = True,
                 on_damaged: Callable[[str, str], None] | None = None):
        self.path = Path(path) if path else default_path()
        self.created = False
        # rows whose record cannot be read or shown (records.shape_problem),
        # by key: left out of all(), refused by get(); `on_damaged(key, why)`
        # hears of each once
        self.damaged: dict[str, str] = {}
        self._on_damaged = on_damaged
        self._told: set[str] = set()
        if not self.path.exists():
            if not create:
                raise StoreMissing(f"no session store at {self.path}",
                                   "check --db and $" + DB_ENV + "; talkbalance sync makes the store")
            self._create_file()
        elif not self.path.is_file():
            raise InputError(f"{self.path} is not a file", "give the session store's file with --db")
        self._open()

    def _create_file(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        except OSError as exc:
            raise StoreUnwritable(f"cannot make the session store {self.path}: {exc.strerror}",
                                  "use --db to put it in a folder you can write") from None
        self.created = True

    @_guarded
    def _open(self) -> None:
        self.db = sqlite3.connect(self.path)
        self.db.create_function("casefold", 1, _casefold, deterministic=True)
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        # a new store is an empty file; any other database is some other
        # program's, and nothing is written into it
        foreign = bool(tables) if version == 0 else not _OWN_TABLES <= tables
        if foreign:
            names = sorted(tables)
            held = ", ".join(text.printable(t) for t in names[:5]) + (", ..." if len(names) > 5 else "")
            self.db.close()
            raise StoreCorrupt(f"{self.path}: an SQLite database, but not a talkbalance session store "
                               f"(it holds: {held or 'no tables'})", "use --db to pick another file")
        if version > SCHEMA_VERSION:
            raise StoreCorrupt(f"{self.path} was written by a newer talkbalance (schema {version})",
                               "upgrade talkbalance")
        for n in range(version, SCHEMA_VERSION):
            with self.db:
                self.db.executescript(_MIGRATIONS[n])
                self.db.execute(f"PRAGMA user_version = {n + 1}")

    # -- records -----------------------------------------------------------

    @_guarded
    def check(self) -> None:
        """Raise StoreCorrupt unless SQLite finds the whole file sound."""
        problems = [r[0] for r in self.db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreCorrupt(f"the session store {self.path} is damaged ({problems[0]})", _RECOVER_HINT)

    @_guarded
    def has(self, device: str, record_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM sessions WHERE device = ? AND id = ?", (device, record_id)).fetchone()
        return row is not None

    @_guarded
    def add_many(self, records: Iterable[dict]) -> int:
        """Insert records in one transaction; returns how many were new."""
        rows = [_row_of(rec, rec["id"]) for rec in records]
        with self.db:
            before = self.db.total_changes
            self.db.executemany(_INSERT, rows)
            return self.db.total_changes - before

    @_guarded
    def add(self, rec: dict, row_id: str | None = None, date: tuple[int | None, str] | None = None) -> bool:
        """Insert one record (in its own transaction) under `row_id`
        (default: its own id), dated `date` (talkbalance.dating; default:
        what the record alone says); False if that row was there already.
        Raises Unstorable when the record holds a value SQLite cannot keep
        (a fault of the database itself is a StoreCorrupt, as elsewhere)."""
        try:
            row = _row_of(rec, row_id or rec["id"], date)
            with self.db:
                before = self.db.total_changes
                self.db.execute(_INSERT, row)
                return self.db.total_changes > before
        except (sqlite3.InterfaceError, sqlite3.ProgrammingError, OverflowError, ValueError, TypeError, KeyError,
                AttributeError) as exc:
            raise Unstorable(f"{type(exc).__name__}: {exc}") from None

    @_guarded
    def record_text(self, device: str, record_id: str) -> str | None:
        """The stored record as stored (canonical JSON), or None."""
        row = self.db.execute("SELECT record FROM sessions WHERE device = ? AND id = ?",
                              (device, record_id)).fetchone()
        return None if row is None else row[0]

    @_guarded
    def all(self, partner: str | None = None, warn: bool = True) -> list[Stored]:
        """Every stored session, oldest first (a session of unknown date by
        boot and session among its device's: dating.chronological); with
        `partner`, those labelled with that name in any case. A session
        that cannot be shown is left out (`damaged`; told to `on_damaged`
        when `warn`)."""
        sql = ("SELECT s.device, s.id, s.record, l.partner, l.note, l.follow_up, s.date_s, s.date_how "
               "FROM sessions s "
               "LEFT JOIN labels l ON l.device = s.device AND l.id = s.id")
        args: tuple = ()
        if partner is not None:
            sql += " WHERE casefold(l.partner) = ?"
            args = (partner.casefold(),)
        sql += " ORDER BY s.device, s.id"
        rows = [s for s in (self._row(r, warn) for r in self.db.execute(sql, args)) if s is not None]
        return dating.chronological(rows, lambda s: s.date_s, lambda s: s.record)

    def get(self, key: str) -> Stored:
        """A session by record id (`device-boot-session`), or `device:id`."""
        device, sep, rid = key.partition(":")
        everything = self.all(warn=False)  # only this one is shown: a damaged one is the error below
        if sep:
            rows = [s for s in everything if s.device == device and s.id == rid]
        else:
            rows = [s for s in everything if s.id == key]
        if not rows:
            why = self.damaged.get(key) or next((w for k, w in self.damaged.items() if k.endswith(":" + key)), None)
            if why is not None:
                raise StoreCorrupt(f"session {text.printable(key)} in {self.path}: its stored record {why}",
                                   "the store keeps it as it was written; talkbalance sessions lists the others")
            raise InputError(f"no session {key!r} in {self.path}", "list them with: talkbalance sessions")
        if len(rows) > 1:
            raise InputError(f"{key!r} matches sessions from several devices", "name it as DEVICE:ID")
        return rows[0]

    def _row(self, r, warn: bool) -> Stored | None:
        """A row as a Stored session, or None (noted in `damaged`) when its
        record cannot be read or shown. A date that is not one (edited,
        say) reads as unknown."""
        rec = None
        try:
            rec = json.loads(r[2])
            why = records.shape_problem(rec)
        except (TypeError, ValueError, RecursionError):  # not text, not JSON, nested past Python's stack
            why = "is not JSON"
        date_s, how = r[6], r[7]
        if isinstance(date_s, bool) or not isinstance(date_s, int) or not 0 <= date_s <= _DATE_MAX_S:
            date_s, how = None, dating.UNKNOWN
        labels = tuple(x if isinstance(x, str) else None for x in (r[3], r[4]))
        s = Stored(str(r[0]), str(r[1]), rec if why is None else {}, *labels,
                   None if r[5] is None else bool(r[5]), date_s, how if isinstance(how, str) else dating.UNKNOWN)
        if why is None:
            return s
        if warn and self._on_damaged is not None and s.key not in self._told:
            self._told.add(s.key)
            self._on_damaged(s.key, why)
        self.damaged[s.key] = why
        return None

    # -- labels ------------------------------------------------------------

    @_guarded
    def label(self, key: str, partner: str | None = None, note: str | None = None,
              follow_up: bool | None = None) -> Stored:
        s = self.get(key)
        partner = (partner or None) if partner is not None else s.partner  # "" clears it
        note = (note or None) if note is not None else s.note
        follow = follow_up if follow_up is not None else s.follow_up
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?)",
                            (s.device, s.id, partner, note, None if follow is None else int(follow)))
        return self.get(f"{s.device}:{s.id}")

    @_guarded
    def partners(self) -> list[str]:
        """Partner names, one spelling per name whatever its case."""
        return [r[0] for r in self.db.execute(
            "SELECT MIN(partner) FROM labels WHERE partner IS NOT NULL "
            "GROUP BY casefold(partner) ORDER BY casefold(partner)")]
