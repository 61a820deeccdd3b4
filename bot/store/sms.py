"""Text messages waiting for the SMS gateway, durable like the outbox: a restart loses none, and each has a key
derived from what caused it (the page, the fallback), so the same cause never queues a second one.

The text never holds free text (area, alarm id, "open Element"); the number is the one the people file gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.store.db import Database, Topic

_COLUMNS = "id, key, alarm_id, user_id, phone, text, why, attempts, created_at, reported"


@dataclass(frozen=True)
class NewSms:
    key: str  # unique per cause, e.g. "page:L3:@anna.a:example.org" (unseen and undelivered share it: one SMS) or
    #                   "fallback:L3:@chef.c:example.org"
    alarm_id: str
    user_id: str
    phone: str
    text: str
    why: str  # "unreachable" | "unseen" | "fallback"


@dataclass(frozen=True)
class SmsRow:
    id: int
    key: str
    alarm_id: str
    user_id: str
    phone: str
    text: str
    why: str
    attempts: int
    created_at: float
    reported: bool  # the supervisors were already told it is failing


class SmsQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, sms: NewSms, now: float) -> bool:
        """Queue `sms` unless its key was queued before; True if queued now."""
        added = self.db.execute(
            "INSERT INTO sms(key, alarm_id, user_id, phone, text, why, status, attempts, next_attempt_at,"
            " created_at, reported, last_error) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, 0, '')"
            " ON CONFLICT DO NOTHING",
            [sms.key, sms.alarm_id, sms.user_id, sms.phone, sms.text, sms.why, now, now],
        ).rowcount == 1
        if added:
            self.db.changed(Topic.SMS)
        return added

    @staticmethod
    def _row(r: Any) -> SmsRow:
        return SmsRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), int(r[7]),
                      float(r[8]), bool(r[9]))

    def due(self, now: float) -> list[SmsRow]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM sms WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id", [now]
        ).fetchall()
        return [self._row(r) for r in rows]

    def next_attempt_at(self) -> float | None:
        row = self.db.execute("SELECT MIN(next_attempt_at) FROM sms WHERE status = 'pending'").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def sent(self, sms_id: int, gateway_id: str, at: float) -> None:
        self.db.execute(
            "UPDATE sms SET status = 'sent', sent_at = ?, gateway_id = ?, attempts = attempts + 1 WHERE id = ?",
            [at, gateway_id, sms_id],
        )

    def retry_at(self, sms_id: int, at: float, error: str, reported: bool) -> None:
        self.db.execute(
            "UPDATE sms SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, reported = ? WHERE id = ?",
            [at, error[:300], int(reported), sms_id],
        )
        self.db.changed(Topic.SMS)

    def finished(self, sms_id: int, status: str, error: str) -> None:
        """Never tried again: "failed" (the gateway refused it) or "dropped" (its alarm no longer needs it)."""
        self.db.execute(
            "UPDATE sms SET status = ?, last_error = ?, attempts = attempts + 1 WHERE id = ?",
            [status, error[:300], sms_id],
        )

    def status_of(self, key: str) -> tuple[str, int] | None:
        """(status, attempts) of one message, for tests and diagnostics."""
        row = self.db.execute("SELECT status, attempts FROM sms WHERE key = ?", [key]).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def of_alarm(self, alarm_id: str) -> list[SmsOutcome]:
        """Every SMS of `alarm_id`, oldest first."""
        rows = self.db.execute(
            "SELECT user_id, why, status, attempts, created_at, sent_at, last_error FROM sms WHERE alarm_id = ?"
            " ORDER BY id", [alarm_id]).fetchall()
        return [SmsOutcome(str(r[0]), str(r[1]), str(r[2]), int(r[3]), float(r[4]),
                           None if r[5] is None else float(r[5]), str(r[6]).partition(":")[0] if r[6] else "")
                for r in rows]

@dataclass(frozen=True)
class SmsOutcome:
    """What became of one SMS of an alarm, for the browser view: never its text or the number it went to."""

    user_id: str
    why: str
    status: str  # "pending" | "sent" | "failed" | "dropped"
    attempts: int
    created_at: float
    sent_at: float | None
    failure: str  # the last failure's class ("timeout", "network", "server", "rejected"), or ""

