"""Leave made in the browser by a supervisor: stored, listed, removable. Ids (F1, F2, …) are never reused.

Leave written in people.toml lives in the roster files; this is the other half, which the runtime merges into the
roster in force (bot/duty/leave.py) and `jourbot roster -c config.toml` reads without writing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.store.db import Database, Topic
from bot.store.readonly import read_rows
from bot.store.sequences import Sequences
from rosters import Leave

PREFIX = "F"  # frånvaro: L is taken by alarm numbers


class LeaveEntries:
    def __init__(self, db: Database, sequences: Sequences) -> None:
        self.db = db
        self.sequences = sequences

    def add(self, leave: Leave, by: str, now: datetime) -> Leave:
        stored = replace(leave, entry=f"{PREFIX}{self.sequences.next('leave')}")
        self.db.execute(
            "INSERT INTO leave_entries(id, user_id, start, \"end\", reason, created_by, created_at, removed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            [stored.entry, stored.user, stored.start.isoformat(), stored.end.isoformat(), stored.reason, by,
             now.timestamp()],
        )
        self.db.changed(Topic.LEAVE)
        return stored

    def remove(self, leave_id: str, now: datetime) -> bool:
        cur = self.db.execute(
            "UPDATE leave_entries SET removed_at = ? WHERE id = ? AND removed_at IS NULL", [now.timestamp(), leave_id]
        )
        if cur.rowcount != 1:
            return False
        self.db.changed(Topic.LEAVE)
        return True

    def active(self) -> list[Leave]:
        """Every entry not removed, by start; the roster engine ignores those outside the times it is asked about."""
        return _leave(self.db.execute(_ACTIVE).fetchall())


_ACTIVE = ('SELECT id, user_id, start, "end", reason FROM leave_entries WHERE removed_at IS NULL'
           ' ORDER BY start, id')


def _leave(rows: Iterable[Sequence[str]]) -> list[Leave]:
    return [Leave(r[1], datetime.fromisoformat(r[2]), datetime.fromisoformat(r[3]), r[4], r[0]) for r in rows]


def read_active(path: Path, database: str = "") -> list[Leave]:
    """The leave made in the browser, read from the bot's database without writing to it, for `jourbot roster`.

    The bot may be running: the database is read only and never migrated. No database yet: no leave."""
    return _leave(read_rows(path, database, "leave_entries", _ACTIVE))
