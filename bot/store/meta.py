"""Small facts the runtime keeps between starts (first start, one-off warnings), as key → text."""

from __future__ import annotations

from bot.store.db import Database


class Meta:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def set(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
                        " DO UPDATE SET value = excluded.value", [key, value])

    def set_once(self, key: str, value: str) -> bool:
        """Set `key` unless it is set already; True if this call set it (a warning is then due, once)."""
        return self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                               [key, value]).rowcount == 1
