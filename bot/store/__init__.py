"""The bot's single source of truth: one database, SQLite by default or PostgreSQL where instances share it (`[storage]
database = "postgresql://…"`). Every SQL statement of the bot lives in this package.

`Store` opens the database, brings its schema up to date and hands out one repository per table family. Writes that
belong together go through `store.transaction()`; see bot/store/db.py for what runs after a commit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.store.acting import Acting
from bot.store.alarm_rooms import AlarmRooms
from bot.store.alarms import Alarms
from bot.store.area_months import AreaMonths
from bot.store.audit import Audit
from bot.store.checkins import Checkins
from bot.store.cross_signing import OwnIdentity
from bot.store.db import Database, SqliteDatabase
from bot.store.deadlines import Deadlines
from bot.store.direct_rooms import DirectRooms
from bot.store.events import Events, StoredEvent, WaitingEvent
from bot.store.files import write_private
from bot.store.handovers import Handovers
from bot.store.identities import Identities, Pin
from bot.store.leave import LeaveEntries
from bot.store.meta import Meta
from bot.store.migrations import STEPS, SchemaTooNew, migrate, schema_version
from bot.store.outbox import NewMessage, Outbox, OutboxRow
from bot.store.overrides import Overrides
from bot.store.page_watch import PageWatch
from bot.store.phases import Phases
from bot.store.retention import Retention
from bot.store.roster_snapshots import RosterSnapshot, RosterSnapshots
from bot.store.secretbox import SALT_BYTES, SecretBox
from bot.store.sequences import Sequences
from bot.store.sync import Head, SyncPosition
from bot.store.web import WebAccess

__all__ = [
    "STEPS", "Head", "NewMessage", "OutboxRow", "SchemaTooNew", "Store", "StoredEvent", "WaitingEvent",
    "RosterSnapshot", "Pin", "SaltMissing",
]

log = logging.getLogger(__name__)

SALT_KEY = "data_salt"  # meta: the fingerprint of the salt the data key is stretched with


class SaltMissing(Exception):
    """The salt file beside the database is gone or not the one its fields were sealed with."""


def audit_head_path(db_path: Path) -> Path:
    """Where the audit trail's head is kept, outside the database (bot/store/audit.py)."""
    return db_path.with_name(db_path.stem + "-audit-head.json")


def salt_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".salt")


SALT_VALUE_KEY = "data_salt_value"  # meta, on PostgreSQL: the salt itself


def _shared_salt(db: Database, meta: Meta) -> bytes:
    """On PostgreSQL the salt is kept in the database itself: the instances sharing it have state folders of their
    own on machines of their own, and the salt is not secret. Two instances starting at once agree on the first."""
    with db.transaction():
        meta.set_once(SALT_VALUE_KEY, os.urandom(SALT_BYTES).hex())
    return bytes.fromhex(meta.get(SALT_VALUE_KEY) or "")


def _salt(db: Database, meta: Meta) -> bytes:
    """The salt the data key is stretched with: read from beside the database, made there on first use. Not secret,
    but needed: without it nothing sealed since can be read, so a missing one stops the store from opening."""
    if db.dialect != "sqlite":
        return _shared_salt(db, meta)
    path = salt_path(db.path)
    known = meta.get(SALT_KEY)
    if path.exists():
        salt = bytes.fromhex(path.read_text().strip())
    elif known is None:
        salt = os.urandom(SALT_BYTES)
        write_private(path, salt.hex() + "\n")
    else:
        raise SaltMissing(f"{path} is missing: the data key is stretched with the salt kept there, and nothing sealed"
                          " in the database can be read without it. Restore it from the backup of the state folder.")
    fingerprint = hashlib.sha256(salt).hexdigest()[:16]
    if known is None:
        with db.transaction():
            meta.set(SALT_KEY, fingerprint)
    elif known != fingerprint:
        raise SaltMissing(f"{path} is not the salt this database was sealed with. Restore it from the backup of the"
                          " state folder.")
    return salt


def is_postgres(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://"))


def open_database(path: Path, database: str = "") -> Database:
    """SQLite at `path`, or the PostgreSQL database `database` names; `path` is then only where the files kept beside
    the database go (its salt, the audit head). psycopg is imported only then: the embedded default never loads it."""
    if not database:
        return SqliteDatabase(path)
    if not is_postgres(database):
        raise ValueError("[storage] database: expected a postgresql:// URL, or nothing for SQLite in the state folder")
    from bot.store.postgres import PostgresDatabase

    return PostgresDatabase(database, path)


class Store:
    def __init__(self, path: Path, box: SecretBox, clock: Callable[[], float] = time.time, database: str = "") -> None:
        self.db = open_database(path, database)
        self.clock = clock
        try:
            migrate(self.db)
        except BaseException:
            self.db.close()
            raise
        self.meta = Meta(self.db)
        try:
            box = box.salted(_salt(self.db, self.meta))
        except BaseException:
            self.db.close()
            raise
        try:
            before = schema_version(self.db)
            if migrate(self.db, box) != before:  # the steps that seal what they write
                self.db.reclaim()  # what they moved into sealed fields leaves no copy in the clear behind
        except BaseException:
            self.db.close()
            raise
        self.box = box
        self.sequences = Sequences(self.db)
        self.sync = SyncPosition(self.db)
        self.events = Events(self.db, box, clock)
        self.outbox = Outbox(self.db, box, clock)
        self.alarms = Alarms(self.db, box, clock)
        self.deadlines = Deadlines(self.db)
        self.overrides = Overrides(self.db, self.sequences)
        self.audit = Audit(self.db, clock, box.derive("audit-mac"), audit_head_path(path))
        if schema_version(self.db) >= len(STEPS):
            self.audit.upgrade()
            if done := self.db.vacuum_once():
                log.info("database %s", done)
                with self.db.transaction():
                    self.audit.append("jourbot", "store.vacuumed", "", {"what": done})
        self.direct_rooms = DirectRooms(self.db, clock)
        self.retention = Retention(self.db, self.audit)
        self.page_watch = PageWatch(self.db)
        self.phases = Phases(self.db)
        self.alarm_rooms = AlarmRooms(self.db, clock)
        self.handovers = Handovers(self.db)
        self.area_months = AreaMonths(self.db)
        self.checkins = Checkins(self.db)
        self.roster_snapshots = RosterSnapshots(self.db)
        self.web = WebAccess(self.db)
        self.leave = LeaveEntries(self.db, self.sequences)
        self.identities = Identities(self.db)
        self.acting = Acting(self.db, clock)
        self.own_identity = OwnIdentity(self.db, box)
        self.db.private_side_files()

    @property
    def schema_version(self) -> int:
        return schema_version(self.db)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.transaction():
            yield

    def close(self) -> None:
        try:
            self.audit.flush_head()
        except Exception as err:  # e.g. fenced: the head is written by whoever acts now; closing must go on
            log.warning("audit head file not written at close: %s", err)
        finally:
            self.db.close()
