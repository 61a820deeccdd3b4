"""Command-like events as they arrived, and events that could not be decrypted yet.

An event id is a primary key here: recording it twice has no second effect, which is what makes a replayed sync batch,
a restart mid-batch or a gap fetched twice harmless. Payloads are sealed: commands carry the police's free text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store.db import Database
from bot.store.secretbox import SecretBox


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    room_id: str
    sender: str
    kind: str  # "command" | "reaction" | "reply"
    origin_ts: int  # ms since the epoch, from the homeserver
    payload: dict[str, Any]


@dataclass(frozen=True)
class WaitingEvent:
    event_id: str
    room_id: str
    sender: str
    source: dict[str, Any]  # the still-encrypted event, for another try
    first_seen: float


class Events:
    def __init__(self, db: Database, box: SecretBox, clock: Callable[[], float]) -> None:
        self.db = db
        self.box = box
        self.clock = clock

    def record(self, event_id: str, room_id: str, sender: str, kind: str, origin_ts: int,
               payload: dict[str, Any]) -> bool:
        """Remember a command-like event; False if it was seen before."""
        cur = self.db.execute(
            "INSERT INTO events(event_id, room_id, sender, kind, origin_ts, received_at, payload, status,"
            " outcome) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', '') ON CONFLICT DO NOTHING",
            [event_id, room_id, sender, kind, origin_ts, self.clock(), self.box.seal(json.dumps(payload), event_id)],
        )
        return cur.rowcount == 1

    def seen(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM events WHERE event_id = ?", [event_id]).fetchone() is not None

    def pending(self, limit: int = 200) -> list[StoredEvent]:
        rows = self.db.execute(
            "SELECT event_id, room_id, sender, kind, origin_ts, payload FROM events"
            " WHERE status = 'pending' ORDER BY origin_ts, received_at LIMIT ?",
            [limit],
        ).fetchall()
        return [StoredEvent(r[0], r[1], r[2], r[3], int(r[4]), json.loads(self.box.open(r[5], r[0]))) for r in rows]

    def finish(self, event_id: str, outcome: str) -> None:
        self.db.execute("UPDATE events SET status = 'done', outcome = ? WHERE event_id = ?", [outcome, event_id])

    def outcome(self, event_id: str) -> str | None:
        """None if never seen, "pending" until handled, then how it was handled."""
        row = self.db.execute("SELECT status, outcome FROM events WHERE event_id = ?", [event_id]).fetchone()
        return None if row is None else (str(row[1]) if row[0] == "done" else "pending")

    # --- undecryptable -------------------------------------------------------------------------------------------
    def record_undecryptable(self, event_id: str, room_id: str, sender: str, source: dict[str, Any]) -> bool:
        cur = self.db.execute(
            "INSERT INTO undecryptable(event_id, room_id, sender, source, first_seen, status)"
            " VALUES (?, ?, ?, ?, ?, 'waiting') ON CONFLICT DO NOTHING",
            [event_id, room_id, sender, json.dumps(source), self.clock()],
        )
        return cur.rowcount == 1

    def waiting_undecryptable(self) -> list[WaitingEvent]:
        rows = self.db.execute(
            "SELECT event_id, room_id, sender, source, first_seen FROM undecryptable WHERE status = 'waiting'"
            " ORDER BY first_seen"
        ).fetchall()
        return [WaitingEvent(r[0], r[1], r[2], json.loads(r[3]), float(r[4])) for r in rows]

    def set_undecryptable(self, event_id: str, status: str) -> None:
        self.db.execute("UPDATE undecryptable SET status = ? WHERE event_id = ?", [status, event_id])
