"""Numbers given out once: alarm numbers (L42) and override ids (B7) never come back, also after a purge."""

from __future__ import annotations

from bot.store.db import Database


class Sequences:
    def __init__(self, db: Database) -> None:
        self.db = db

    def next(self, name: str) -> int:
        """The next number of sequence `name`; call inside the transaction that uses it, so a rollback returns it."""
        row = self.db.execute(
            "INSERT INTO sequences(name, value) VALUES (?, 1)"
            " ON CONFLICT(name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            [name],
        ).fetchone()
        return int(row[0])
