"""Messages waiting to be sent, in the order they must arrive.

A row's transaction id is derived from what caused it (an event id, a deadline) and its place among that cause's
messages, never drawn at random: if the bot redoes work after losing its last commits, the same messages get the same
ids and the homeserver drops the ones it already has. Content is sealed: pages carry free text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.db import Database, Topic
from bot.store.secretbox import SecretBox

_COLUMNS = (
    "id, txn_id, target_kind, target, event_type, content, attempts, next_attempt_at, purpose, priority, created_at,"
    " deliver_by, overdue"
)

_VALUES = ("(txn_id, target_kind, target, event_type, content, status, attempts, next_attempt_at, created_at, purpose,"
           " last_error, priority, deliver_by, overdue) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, '', ?, ?, 0)")
_ADD = f"INSERT INTO outbox{_VALUES}"  # a second message of one cause and place is a bug: refused
_ADD_ONCE = f"INSERT INTO outbox{_VALUES} ON CONFLICT DO NOTHING"
_OF_KINDS = "target_kind IN (SELECT value FROM json_each(?))"  # the kinds as one JSON list


@dataclass(frozen=True)
class NewMessage:
    target_kind: str  # "room" | "user" (a user's direct room, made on first use) | "alarm" (bot/alarm/rooms.py) |
    #                   "sms" (bot/channels/sms/channel.py): the channel that carries it (bot/channels/channel.py)
    target: str
    content: dict[str, Any]
    purpose: str  # "page:L1:0" | "reminder:L1:0" | "alarm:L1" | "reply" | "notice"
    priority: int  # 0 pages, 1 other alarm traffic, 2 everything else
    deliver_by: float
    event_type: str = "m.room.message"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    txn_id: str
    target_kind: str
    target: str
    event_type: str
    content: dict[str, Any]
    attempts: int
    next_attempt_at: float
    purpose: str
    priority: int
    created_at: float
    deliver_by: float
    overdue: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.target_kind, self.target

    @property
    def page(self) -> tuple[str, int] | None:
        """(alarm id, step) if this message is a page."""
        kind, _, rest = self.purpose.partition(":")
        if kind != "page":
            return None
        alarm, _, step = rest.partition(":")
        return alarm, int(step or 0)

    @property
    def reminder(self) -> tuple[str, int] | None:
        """(alarm id, step) if this message repeats a page its reader has not answered."""
        kind, _, rest = self.purpose.partition(":")
        if kind != "reminder":
            return None
        alarm, _, step = rest.partition(":")
        return alarm, int(step or 0)

    @property
    def rings(self) -> bool:
        """Whether the message mentions someone (`m.mentions`, bot/matrix/content.py), so their phone rings: they
        must know at once."""
        mentions = self.content.get("m.mentions")
        return isinstance(mentions, dict) and bool(mentions.get("user_ids"))

    @property
    def alarm_id(self) -> str | None:
        """The alarm this message is about, if any."""
        kind, _, rest = self.purpose.partition(":")
        return rest.partition(":")[0] if kind in ("page", "reminder", "alarm") and rest else None


@dataclass(frozen=True)
class Outcome:
    row: OutboxRow
    status: str  # "pending" | "sent" | "failed" | "dropped"
    sent_at: float | None
    failure: str  # the class of its last failure ("server", "rejected", …), or ""


def page_purpose(alarm_id: str, step: int) -> str:
    return f"page:{alarm_id}:{step}"


def reminder_purpose(alarm_id: str, step: int) -> str:
    return f"reminder:{alarm_id}:{step}"


def alarm_purpose(alarm_id: str) -> str:
    return f"alarm:{alarm_id}"


def txn_id(cause: str, index: int) -> str:
    return f"jb-{hashlib.sha256(cause.encode()).hexdigest()[:24]}-{index}"


class Outbox:
    def __init__(self, db: Database, box: SecretBox, clock: Callable[[], float]) -> None:
        self.db = db
        self.box = box
        self.clock = clock

    def add(self, message: NewMessage, cause: str, index: int) -> str:
        txn = txn_id(cause, index)
        self._insert(_ADD, message, txn)
        return txn

    def add_once(self, message: NewMessage, cause: str) -> bool:
        """Queue `message` unless `cause` queued one before (an SMS per person and alarm); True if queued now."""
        return self._insert(_ADD_ONCE, message, txn_id(cause, 0))

    def _insert(self, statement: str, message: NewMessage, txn: str) -> bool:
        now = self.clock()
        added = self.db.execute(statement, [
            txn, message.target_kind, message.target, message.event_type,
            self.box.seal(json.dumps(message.content), txn), now, now, message.purpose, message.priority,
            message.deliver_by]).rowcount == 1
        if added:
            self.db.changed(Topic.OUTBOX)
        return added

    def _row(self, r: Any) -> OutboxRow:
        return OutboxRow(int(r[0]), r[1], r[2], r[3], r[4], json.loads(self.box.open(r[5], r[1])), int(r[6]),
                         float(r[7]), r[8], int(r[9]), float(r[10]), float(r[11]), bool(r[12]))

    def heads(self) -> list[tuple[OutboxRow, int]]:
        """The first pending message of every target with the target's urgency, most urgent target first.

        A target is as urgent as the most urgent message waiting for it: a page queued behind a reply to the same room
        lifts that room, and the reply goes first, because messages to one target keep their order.
        """
        rows = self.db.execute(
            f"SELECT {', '.join('o.' + c.strip() for c in _COLUMNS.split(','))}, t.urgency FROM"
            " (SELECT MIN(id) AS head, MIN(priority) AS urgency FROM outbox WHERE status = 'pending'"
            "  GROUP BY target_kind, target) t JOIN outbox o ON o.id = t.head ORDER BY t.urgency, o.id"
        ).fetchall()
        return [(self._row(r), int(r[-1])) for r in rows]

    def sent(self, row_id: int, event_id: str) -> None:
        self.db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, sent_event_id = ?, attempts = attempts + 1 WHERE id = ?",
            [self.clock(), event_id, row_id],
        )
        self.db.changed(Topic.OUTBOX)

    def claim_attempt(self, row_id: int, epoch: int) -> tuple[bool, bool]:
        """`epoch` starts an attempt at a pending message (inside the caller's fenced transaction, so an instance that
        another took over from starts none). (repeat, newly): the message may have reached the homeserver already,
        because an instance of an earlier epoch started an attempt at it; newly, if this is the takeover that found
        so. Where instances share the database only (bot/ha/repeats.py)."""
        row = self.db.execute("SELECT attempt_epoch, repeated FROM outbox WHERE id = ?", [row_id]).fetchone()
        if row is None:
            return False, False
        newly = row[0] is not None and int(row[0]) != epoch
        repeat = bool(row[1]) or newly
        if newly or row[0] is None:
            self.db.execute("UPDATE outbox SET attempt_epoch = ?, repeated = ? WHERE id = ?",
                            [epoch, int(repeat), row_id])
        return repeat, newly

    def retry_at(self, row_id: int, at: float, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
            [at, error[:500], row_id],
        )
        self.db.changed(Topic.OUTBOX)

    def failed(self, row_id: int, reason: str, error: str, status: str = "failed") -> None:
        """A permanent failure: the message is never tried again. `status` "dropped": it was no longer needed."""
        self.db.execute(
            "UPDATE outbox SET status = ?, failure = ?, last_error = ?, attempts = attempts + 1 WHERE id = ?",
            [status, reason, error[:500], row_id],
        )
        self.db.changed(Topic.OUTBOX)

    def overdue(self, now: float) -> list[OutboxRow]:
        """Pending messages past their delivery deadline that have not been reported as such."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' AND overdue = 0 AND deliver_by <= ? ORDER BY id",
            [now],
        ).fetchall()
        return [self._row(r) for r in rows]

    def mark_overdue(self, row_id: int) -> None:
        self.db.execute("UPDATE outbox SET overdue = 1 WHERE id = ?", [row_id])
        self.db.changed(Topic.OUTBOX)

    def next_deliver_by(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(deliver_by) FROM outbox WHERE status = 'pending' AND overdue = 0"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def postpone_deadlines(self, seconds: float) -> None:
        """Give every message still waiting `seconds` more before it counts as late: the time the homeserver was
        down is nobody's delay (after an outage)."""
        self.db.execute("UPDATE outbox SET deliver_by = deliver_by + ? WHERE status = 'pending' AND overdue = 0",
                        [seconds])
        self.db.changed(Topic.OUTBOX)

    def retry_all_now(self, kinds: Sequence[str]) -> None:
        """Every message waiting for one of these target kinds is due now, its backoff forgotten."""
        self.db.execute("UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending'"
                        f" AND {_OF_KINDS}", [self.clock(), json.dumps(list(kinds))])
        self.db.changed(Topic.OUTBOX)

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.db.execute(
            "SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()}

    def pages_overdue(self, now: float) -> int:
        """Pages still waiting to be sent after their delivery deadline (for /metrics)."""
        row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND purpose LIKE 'page:%'"
                              " AND deliver_by <= ?", [now]).fetchone()
        return int(row[0])

    def paged_since(self, user_id: str, since: float) -> bool:
        """Whether a page or a page's reminder to `user_id` waits, or was sent at or after `since`."""
        row = self.db.execute(
            "SELECT 1 FROM outbox WHERE target_kind = 'user' AND target = ?"
            " AND (purpose LIKE 'page:%' OR purpose LIKE 'reminder:%')"
            " AND (status = 'pending' OR sent_at >= ?) LIMIT 1", [user_id, since]).fetchone()
        return row is not None

    def oldest_pending_at(self, kinds: Sequence[str]) -> float | None:
        """When the oldest message still waiting for one of these target kinds was queued."""
        row = self.db.execute(f"SELECT MIN(created_at) FROM outbox WHERE status = 'pending' AND {_OF_KINDS}",
                              [json.dumps(list(kinds))]).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def outcomes(self, target_kind: str, purpose: str) -> list[Outcome]:
        """What became of every message of one kind and purpose (an alarm's SMS), oldest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS}, status, sent_at, failure, last_error FROM outbox WHERE purpose = ?"
            " AND target_kind = ? ORDER BY id", [purpose, target_kind]).fetchall()
        return [Outcome(self._row(r), str(r[13]), None if r[14] is None else float(r[14]),
                        str(r[15] or (r[16] or "").partition(":")[0])) for r in rows]

    def status_of(self, txn: str) -> tuple[str, str | None] | None:
        """(status, failure reason) of one message, for tests and diagnostics."""
        row = self.db.execute("SELECT status, failure FROM outbox WHERE txn_id = ?", [txn]).fetchone()
        return None if row is None else (str(row[0]), row[1])
