"""The audit trail: append-only, each entry hashing the one before, so an altered or removed entry shows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from bot.store.db import Database

GENESIS = "0" * 64


def _hash(prev: str, at: float, actor: str, action: str, subject: str, data: str) -> str:
    material = json.dumps([prev, repr(at), actor, action, subject, data], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


class Audit:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    def append(self, actor: str, action: str, subject: str = "", data: dict[str, Any] | None = None) -> int:
        """Call inside the transaction that makes the change the entry describes; the entry's number."""
        row = self.db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev = str(row[0]) if row else GENESIS
        at = self.clock()
        body = json.dumps(data or {}, sort_keys=True, separators=(",", ":"))
        cur = self.db.execute(
            "INSERT INTO audit(at, actor, action, subject, data, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [at, actor, action, subject, body, prev, _hash(prev, at, actor, action, subject, body)],
        )
        return int(cur.lastrowid or 0)

    def verify(self) -> tuple[bool, int, str]:
        """(intact, entries checked, the first problem)."""
        prev = GENESIS
        count = 0
        for seq, at, actor, action, subject, data, stored_prev, stored_hash in self.db.execute(
            "SELECT seq, at, actor, action, subject, data, prev, hash FROM audit ORDER BY seq"
        ):
            count += 1
            if stored_prev != prev:
                return False, count, f"entry {seq}: does not follow the entry before it"
            if _hash(prev, at, actor, action, subject, data) != stored_hash:
                return False, count, f"entry {seq}: altered"
            prev = stored_hash
        return True, count, ""

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest entries first."""
        cursor = self.db.execute(
            "SELECT seq, at, actor, action, subject, data FROM audit ORDER BY seq DESC LIMIT ?", [limit]
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def about(self, subject: str) -> list[dict[str, Any]]:
        """Every entry about `subject` (an alarm id, say), oldest first: its history as the trail recorded it."""
        cursor = self.db.execute(
            "SELECT seq, at, actor, action, subject, data FROM audit WHERE subject = ? ORDER BY seq", [subject]
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
