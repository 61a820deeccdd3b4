"""Roster overrides made in chat: stored, listed, removable. Ids come from a sequence and are never reused."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.store.db import Database
from bot.store.readonly import read_rows
from bot.store.sequences import Sequences
from rosters import Override


class Overrides:
    def __init__(self, db: Database, sequences: Sequences) -> None:
        self.db = db
        self.sequences = sequences

    def add(self, override: Override, by: str, now: datetime) -> Override:
        stored = replace(override, id=f"B{self.sequences.next('override')}")
        self.db.execute(
            "INSERT INTO overrides(id, user_id, name, unit, role, start, \"end\", created_by, created_at, removed_at,"
            " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            [stored.id, stored.user, stored.name, stored.unit, stored.role, stored.start.isoformat(),
             stored.end.isoformat(), by, now.timestamp(), stored.reason],
        )
        return stored

    def remove(self, override_id: str, now: datetime) -> bool:
        cur = self.db.execute(
            "UPDATE overrides SET removed_at = ? WHERE id = ? AND removed_at IS NULL", [now.timestamp(), override_id]
        )
        return cur.rowcount == 1

    def active(self) -> list[Override]:
        """Every override not removed; the roster engine ignores those outside the instant it is asked about."""
        return _overrides(self.db.execute(_ACTIVE).fetchall())


_ACTIVE = ("SELECT id, user_id, name, unit, role, start, \"end\", reason FROM overrides WHERE removed_at IS NULL"
           " ORDER BY start")


def _overrides(rows: Iterable[Sequence[str]]) -> list[Override]:
    return [
        Override(r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]), datetime.fromisoformat(r[6]), r[0], r[7])
        for r in rows
    ]


def read_active(path: Path, database: str = "") -> list[Override]:
    """The overrides made in chat, read from the bot's database without writing to it, for `jourbot roster`.

    The bot may be running: the database is read only and never migrated. No database yet: no overrides."""
    return _overrides(read_rows(path, database, "overrides", _ACTIVE))
