"""Leave made in the browser, and the roster in force with it merged in.

The roster every part of the bot asks (alarms, `!jour`, `!schema`, check-ins, readiness, the web view and its
feeds) is the file roster with this leave beside people.toml's, so leave made in the browser takes effect wherever
the roster is used, with the engine's own precedence: override > leave > rotation.
"""

from __future__ import annotations

from datetime import datetime

from bot.store import Store
from bot.store.db import Topic
from rosters import Leave, Roster


class StoredLeave:
    """Leave entries made in the browser, each written together with its audit entry."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._entries: tuple[Leave, ...] = tuple(store.leave.active())
        self._merged: tuple[Roster, Roster] | None = None  # (file roster, it with the stored leave)
        store.db.on_commit(Topic.LEAVE, self._refresh)

    def add(self, leave: Leave, by: str, now: datetime) -> Leave:
        stored = self.store.leave.add(leave, by, now)
        self.store.audit.append(by, "leave.added", stored.entry,
                                {"user": stored.user, "start": stored.start.isoformat(),
                                 "end": stored.end.isoformat()})
        return stored

    def remove(self, leave_id: str, by: str, now: datetime) -> bool:
        if not self.store.leave.remove(leave_id, now):
            return False
        self.store.audit.append(by, "leave.removed", leave_id)
        return True

    def active(self) -> tuple[Leave, ...]:
        return self._entries

    def current(self, now: datetime) -> list[Leave]:
        return [entry for entry in self._entries if entry.end > now]

    def merged(self, roster: Roster) -> Roster:
        """`roster` with the stored leave; built once per roster and per change of the leave, since a Roster caches
        its lookups per day."""
        cached = self._merged
        if cached is not None and cached[0] is roster:
            return cached[1]
        merged = roster.with_leave(self._entries)
        self._merged = (roster, merged)
        return merged

    def _refresh(self) -> None:
        self._entries = tuple(self.store.leave.active())
        self._merged = None
