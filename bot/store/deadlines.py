"""Escalation deadlines: one per open alarm. The table is the timer; APScheduler only wakes the bot at its minimum."""

from __future__ import annotations

from bot.store.db import Database, Topic


class Deadlines:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, alarm_id: str, at: float) -> None:
        self.db.execute("INSERT INTO deadlines(alarm_id, at) VALUES (?, ?)"
                        " ON CONFLICT(alarm_id) DO UPDATE SET at = excluded.at", [alarm_id, at])
        self.db.changed(Topic.DEADLINES)

    def clear(self, alarm_id: str) -> None:
        self.db.execute("DELETE FROM deadlines WHERE alarm_id = ?", [alarm_id])
        self.db.changed(Topic.DEADLINES)

    def get(self, alarm_id: str) -> float | None:
        row = self.db.execute("SELECT at FROM deadlines WHERE alarm_id = ?", [alarm_id]).fetchone()
        return float(row[0]) if row else None

    def due(self, now: float) -> list[tuple[str, float]]:
        rows = self.db.execute("SELECT alarm_id, at FROM deadlines WHERE at <= ? ORDER BY at", [now]).fetchall()
        return [(str(r[0]), float(r[1])) for r in rows]

    def next_at(self) -> float | None:
        row = self.db.execute("SELECT MIN(at) FROM deadlines").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM deadlines").fetchone()[0])
