"""The bot's single source of truth: one SQLite database. Every SQL statement of the bot lives in this package.

`Store` opens the database, brings its schema up to date and hands out one repository per table family. Writes that
belong together go through `store.transaction()`; see bot/store/db.py for what runs after a commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.store.alarm_rooms import AlarmRooms
from bot.store.alarms import Alarms
from bot.store.area_months import AreaMonths
from bot.store.audit import Audit
from bot.store.checkins import Checkins
from bot.store.db import Database
from bot.store.deadlines import Deadlines
from bot.store.direct_rooms import DirectRooms
from bot.store.events import Events, StoredEvent, WaitingEvent
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
from bot.store.secretbox import SecretBox
from bot.store.sequences import Sequences
from bot.store.sms import SmsQueue
from bot.store.sync import Head, SyncPosition
from bot.store.web import WebAccess

__all__ = [
    "STEPS", "Head", "NewMessage", "OutboxRow", "SchemaTooNew", "Store", "StoredEvent", "WaitingEvent",
    "RosterSnapshot", "Pin",
]


class Store:
    def __init__(self, path: Path, box: SecretBox, clock: Callable[[], float] = time.time) -> None:
        self.db = Database(path)
        self.clock = clock
        try:
            migrate(self.db)
        except BaseException:
            self.db.close()
            raise
        self.meta = Meta(self.db)
        self.sequences = Sequences(self.db)
        self.sync = SyncPosition(self.db)
        self.events = Events(self.db, box, clock)
        self.outbox = Outbox(self.db, box, clock)
        self.alarms = Alarms(self.db, box, clock)
        self.deadlines = Deadlines(self.db)
        self.overrides = Overrides(self.db, self.sequences)
        self.audit = Audit(self.db, clock)
        self.direct_rooms = DirectRooms(self.db, clock)
        self.retention = Retention(self.db, self.audit)
        self.page_watch = PageWatch(self.db)
        self.sms = SmsQueue(self.db)
        self.phases = Phases(self.db)
        self.alarm_rooms = AlarmRooms(self.db, clock)
        self.handovers = Handovers(self.db)
        self.area_months = AreaMonths(self.db)
        self.checkins = Checkins(self.db)
        self.roster_snapshots = RosterSnapshots(self.db)
        self.web = WebAccess(self.db)
        self.leave = LeaveEntries(self.db, self.sequences)
        self.identities = Identities(self.db)
        self.db.private_side_files()

    @property
    def schema_version(self) -> int:
        return schema_version(self.db)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.transaction():
            yield

    def close(self) -> None:
        self.db.close()
