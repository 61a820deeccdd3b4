"""Alarms as the state machine left them, sealed: the state holds people's own words (decline reasons, close notes),
the details hold the police's free text. Each ciphertext is bound to its alarm id, so rows cannot be swapped."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.db import Database
from bot.store.secretbox import SecretBox

UNFINISHED = ("open", "exhausted", "accepted")

# A repeat is a double tap or a resend while the answer was slow: of one of the officer's newest alarms there.
REPEAT_CANDIDATES = 10


@dataclass(frozen=True)
class AlarmRow:
    id: str
    number: int
    status: str
    area: str
    unit: str
    raised_by: str
    raised_at: float
    police_room: str
    state: dict[str, Any]
    police_event: str = ""  # the message that raised it


class Alarms:
    def __init__(self, db: Database, box: SecretBox, clock: Callable[[], float]) -> None:
        self.db = db
        self.box = box
        self.clock = clock

    def insert(self, row: AlarmRow, details: str) -> None:
        self.db.execute(
            "INSERT INTO alarms(id, number, status, area, unit, raised_by, raised_at, police_room, state, details,"
            " updated_at, police_event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row.id, row.number, row.status, row.area, row.unit, row.raised_by, row.raised_at, row.police_room,
             self._seal_state(row.id, row.state), self.box.seal(details, f"details:{row.id}"), self.clock(),
             row.police_event],
        )

    def update(self, alarm_id: str, status: str, state: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE alarms SET status = ?, state = ?, updated_at = ? WHERE id = ?",
            [status, self._seal_state(alarm_id, state), self.clock(), alarm_id],
        )

    def state(self, alarm_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT state FROM alarms WHERE id = ?", [alarm_id]).fetchone()
        return None if row is None else self._open_state(alarm_id, row[0])

    def details(self, alarm_id: str) -> str:
        row = self.db.execute("SELECT details FROM alarms WHERE id = ?", [alarm_id]).fetchone()
        return "" if row is None else self.box.open(row[0], f"details:{alarm_id}")

    def states(self, statuses: Sequence[str] = UNFINISHED) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, state FROM alarms WHERE status IN (SELECT value FROM json_each(?)) ORDER BY number",
            [json.dumps(list(statuses))],
        ).fetchall()
        return [self._open_state(r[0], r[1]) for r in rows]

    def states_raised_between(self, start: float, end: float) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, state FROM alarms WHERE raised_at >= ? AND raised_at < ? ORDER BY number", [start, end]
        ).fetchall()
        return [self._open_state(r[0], r[1]) for r in rows]

    def raised_by_event(self, event_id: str) -> str | None:
        """The alarm the message `event_id` raised, if it raised one."""
        row = self.db.execute("SELECT id FROM alarms WHERE police_event = ?", [event_id]).fetchone()
        return str(row[0]) if row else None

    def repeat_candidates(self, user: str, area: str, since: float) -> list[tuple[str, str]]:
        """(id, details) of the newest alarms (at most REPEAT_CANDIDATES) `user` raised for `area` after `since` and did
        not cancel: what a new `!larm` may repeat. Chosen by columns and bounded, so a busy command centre's `!larm`
        opens a few texts, never every alarm of the window; a repeat of an older one than that is raised anew, the
        safe mistake."""
        rows = self.db.execute(
            "SELECT id, details FROM alarms WHERE raised_by = ? AND area = ? AND raised_at > ?"
            " AND status <> 'cancelled' ORDER BY number DESC LIMIT ?", [user, area, since, REPEAT_CANDIDATES]
        ).fetchall()
        return [(str(r[0]), self.box.open(r[1], f"details:{r[0]}")) for r in rows]

    def count_raised_by(self, user: str, since: float) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM alarms WHERE raised_by = ? AND raised_at > ?", [user, since]
        ).fetchone()
        return int(row[0])

    # --- which event is which page ---------------------------------------------------------------------------------
    def remember_page(self, event_id: str, alarm_id: str, user_id: str) -> None:
        self.db.execute(
            "INSERT INTO page_events(event_id, alarm_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [event_id, alarm_id, user_id],
        )

    def alarm_of_page(self, event_id: str) -> str | None:
        row = self.db.execute("SELECT alarm_id FROM page_events WHERE event_id = ?", [event_id]).fetchone()
        return str(row[0]) if row else None

    def _seal_state(self, alarm_id: str, state: dict[str, Any]) -> str:
        return self.box.seal(json.dumps(state), f"state:{alarm_id}")

    def _open_state(self, alarm_id: str, sealed: str) -> dict[str, Any]:
        opened: dict[str, Any] = json.loads(self.box.open(sealed, f"state:{alarm_id}"))
        return opened
