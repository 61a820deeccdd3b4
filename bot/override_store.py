"""Roster overrides made in chat: stored, listed, removable, audited. The roster engine applies them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.store import Store
from rosters import Override


class OverrideStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, override: Override, by: str, now: datetime) -> Override:
        """Call inside the command's transaction: the override and its audit entry are written together."""
        row = self.store.db.execute("SELECT COUNT(*) FROM overrides").fetchone()
        stored = replace(override, id=f"B{int(row[0]) + 1}")
        self.store.db.execute(
            "INSERT INTO overrides(id, user_id, name, unit, role, start, end, created_by, created_at, removed_at,"
            " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            [stored.id, stored.user, stored.name, stored.unit, stored.role, stored.start.isoformat(),
             stored.end.isoformat(), by, now.timestamp(), stored.reason],
        )
        self.store.audit(by, "override.added", stored.id,
                         {"user": stored.user, "unit": stored.unit, "role": stored.role,
                          "start": stored.start.isoformat(), "end": stored.end.isoformat()})
        return stored

    def remove(self, override_id: str, by: str, now: datetime) -> bool:
        cur = self.store.db.execute(
            "UPDATE overrides SET removed_at = ? WHERE id = ? AND removed_at IS NULL", [now.timestamp(), override_id]
        )
        if cur.rowcount != 1:
            return False
        self.store.audit(by, "override.removed", override_id)
        return True

    def active(self) -> list[Override]:
        """Every override not removed; the engine ignores those outside the instant it is asked about."""
        rows = self.store.db.execute(
            "SELECT id, user_id, name, unit, role, start, end, reason FROM overrides WHERE removed_at IS NULL"
        ).fetchall()
        return [
            Override(r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]), datetime.fromisoformat(r[6]), r[0], r[7])
            for r in rows
        ]

    def current(self, now: datetime) -> list[Override]:
        return sorted((o for o in self.active() if o.end > now), key=lambda o: o.start)
