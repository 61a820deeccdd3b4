"""Shift check-ins: planned at a configured shift start, asked, answered or reported to the supervisors.

A row's `at` is when it is next due (the ask at the shift start, then the report when the answer is late); NULL once
nothing more will happen to it. The sweep reads what is due from here, so a restart or a lost wake-up loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.store.db import Database, Topic

PLANNED, ASKED, ANSWERED, UNANSWERED, SKIPPED = "planned", "asked", "answered", "unanswered", "skipped"
_COLUMNS = ("id, unit, role, shift_start, shift_end, user_id, status, at, asked_at, answer_by, answered_at,"
            " reported_at, event_id")


@dataclass(frozen=True)
class CheckinRow:
    id: str
    unit: str
    role: str
    shift_start: float
    shift_end: float
    user_id: str | None
    status: str
    at: float | None
    asked_at: float | None
    answer_by: float | None
    answered_at: float | None
    reported_at: float | None
    event_id: str | None


def _row(r: Any) -> CheckinRow:
    return CheckinRow(str(r[0]), str(r[1]), str(r[2]), float(r[3]), float(r[4]), r[5], str(r[6]),
                      None if r[7] is None else float(r[7]), r[8], r[9], r[10], r[11], r[12])


class Checkins:
    def __init__(self, db: Database) -> None:
        self.db = db

    def plan(self, checkin_id: str, unit: str, role: str, start: float, end: float) -> bool:
        """A check-in at a shift start; planning the same shift again changes nothing. True if it is new."""
        added = self.db.execute(
            "INSERT OR IGNORE INTO checkins(id, unit, role, shift_start, shift_end, status, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", [checkin_id, unit, role, start, end, PLANNED, start],
        ).rowcount == 1
        if added:
            self.db.changed(Topic.CHECKINS)
        return added

    def get(self, checkin_id: str) -> CheckinRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM checkins WHERE id = ?", [checkin_id]).fetchone()
        return None if row is None else _row(row)

    def due(self, now: float) -> list[CheckinRow]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM checkins WHERE at <= ? ORDER BY at, id", [now]).fetchall()
        return [_row(r) for r in rows]

    def next_at(self) -> float | None:
        row = self.db.execute("SELECT MIN(at) FROM checkins").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def asked(self, checkin_id: str, user: str, asked_at: float, answer_by: float,
              shift_end: float | None = None) -> None:
        """Put to `user`; `shift_end` as the roster has it now (an override made after planning may shorten it)."""
        self.db.execute(
            "UPDATE checkins SET status = ?, user_id = ?, asked_at = ?, answer_by = ?, at = ?,"
            " shift_end = COALESCE(?, shift_end) WHERE id = ?",
            [ASKED, user, asked_at, answer_by, answer_by, shift_end, checkin_id])
        self.db.changed(Topic.CHECKINS)

    def skipped(self, checkin_id: str) -> None:
        self.db.execute("UPDATE checkins SET status = ?, at = NULL WHERE id = ?", [SKIPPED, checkin_id])
        self.db.changed(Topic.CHECKINS)

    def reported(self, checkin_id: str, at: float) -> None:
        self.db.execute("UPDATE checkins SET status = ?, reported_at = ?, at = NULL WHERE id = ?",
                        [UNANSWERED, at, checkin_id])
        self.db.changed(Topic.CHECKINS)

    def answered(self, checkin_id: str, at: float) -> None:
        self.db.execute("UPDATE checkins SET status = ?, answered_at = ?, at = NULL WHERE id = ?",
                        [ANSWERED, at, checkin_id])
        self.db.changed(Topic.CHECKINS)

    def delivered(self, checkin_id: str, event_id: str) -> None:
        """The question's event, so a ✅ on it or a reply to it finds its check-in."""
        self.db.execute("UPDATE checkins SET event_id = ? WHERE id = ?", [event_id, checkin_id])

    def by_event(self, event_id: str) -> CheckinRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM checkins WHERE event_id = ?", [event_id]).fetchone()
        return None if row is None else _row(row)

    def waiting_for(self, user: str, now: float) -> CheckinRow | None:
        """The newest question `user` has not answered, of a shift not yet over."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM checkins WHERE user_id = ? AND status IN (?, ?) AND shift_end > ?"
            " ORDER BY shift_start DESC LIMIT 1", [user, ASKED, UNANSWERED, now]).fetchone()
        return None if row is None else _row(row)

    def covering(self, unit: str, role: str, at: float) -> CheckinRow | None:
        """The check-in of the shift of `unit` and `role` running at `at`, if that shift has one."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM checkins WHERE unit = ? AND role = ? AND shift_start <= ? AND shift_end > ?"
            " AND status != ? ORDER BY shift_start DESC LIMIT 1", [unit, role, at, at, PLANNED]).fetchone()
        return None if row is None else _row(row)

    def unanswered(self, now: float) -> int:
        """Check-ins of shifts still running whose answer time has passed without an answer (for /metrics)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM checkins WHERE status IN (?, ?) AND answer_by <= ? AND shift_end > ?",
            [ASKED, UNANSWERED, now, now]).fetchone()
        return int(row[0])

    def last_asked(self, user: str, now: float) -> CheckinRow | None:
        """The last question put to `user` whose answer time has passed or that was answered."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM checkins WHERE user_id = ? AND asked_at IS NOT NULL AND asked_at <= ?"
            " AND (status = ? OR answer_by <= ?) ORDER BY shift_start DESC LIMIT 1",
            [user, now, ANSWERED, now]).fetchone()
        return None if row is None else _row(row)
