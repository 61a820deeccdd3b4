"""The bot's single source of truth: one SQLite database, all SQL in this file.

Writes that belong together go through `transaction()` (BEGIN IMMEDIATE … COMMIT) so that a state change, its audit
entry and the messages announcing it are stored at once or not at all. sqlite-utils builds the schema and reads;
writes inside a transaction use plain SQL because sqlite-utils commits on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.secretbox import SecretBox

AUDIT_GENESIS = "0" * 64


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    room_id: str
    sender: str
    kind: str  # "command" | "reaction" | "reply"
    origin_ts: int  # ms since epoch, from the homeserver
    payload: dict[str, Any]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    txn_id: str
    target_kind: str  # "room" | "user"
    target: str
    event_type: str
    content: dict[str, Any]
    attempts: int
    next_attempt_at: float
    purpose: str


def _migration_1(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["events"].create(
        {
            "event_id": str,
            "room_id": str,
            "sender": str,
            "kind": str,
            "origin_ts": int,
            "received_at": float,
            "payload": str,  # sealed: commands carry free text
            "status": str,  # pending | done
            "outcome": str,
        },
        pk="event_id",
    )
    db["events"].create_index(["status", "origin_ts"])
    db["undecryptable"].create(
        {
            "event_id": str,
            "room_id": str,
            "sender": str,
            "source": str,  # the still-encrypted event as the homeserver sent it
            "first_seen": float,
            "status": str,  # waiting | decrypted | told
        },
        pk="event_id",
    )
    db["outbox"].create(
        {
            "id": int,
            "txn_id": str,
            "target_kind": str,
            "target": str,
            "event_type": str,
            "content": str,  # sealed: pages carry free text
            "status": str,  # pending | sent | dropped
            "attempts": int,
            "next_attempt_at": float,
            "created_at": float,
            "sent_at": float,
            "sent_event_id": str,
            "purpose": str,
            "last_error": str,
        },
        pk="id",
    )
    db["outbox"].create_index(["txn_id"], unique=True)
    db["outbox"].create_index(["status", "next_attempt_at"])
    db["direct_rooms"].create({"user_id": str, "room_id": str, "created_at": float}, pk="user_id")
    db["audit"].create(
        {"seq": int, "at": float, "actor": str, "action": str, "subject": str, "data": str, "prev": str, "hash": str},
        pk="seq",
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    db["alarms"].create(
        {
            "id": str,
            "number": int,
            "status": str,
            "area": str,
            "unit": str,
            "raised_by": str,
            "raised_at": float,
            "police_room": str,
            "state": str,  # the alarm state machine's JSON
            "details": str,  # sealed free text
            "updated_at": float,
        },
        pk="id",
    )
    db["alarms"].create_index(["number"], unique=True)
    db["alarms"].create_index(["status"])
    db["alarms"].create_index(["raised_by", "raised_at"])
    db["deadlines"].create({"alarm_id": str, "at": float}, pk="alarm_id")
    db["page_events"].create({"event_id": str, "alarm_id": str, "user_id": str}, pk="event_id")
    db["overrides"].create(
        {
            "id": str,
            "user_id": str,
            "name": str,
            "unit": str,
            "role": str,
            "start": str,
            "end": str,
            "created_by": str,
            "created_at": float,
            "removed_at": float,
            "reason": str,
        },
        pk="id",
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2]


class Store:
    def __init__(self, path: Path, box: SecretBox, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.box = box
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = not path.exists()
        if fresh:
            # Create the file private before SQLite writes anything into it.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(path, 0o600)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        self.db = sqlite_utils.Database(conn)
        self._migrate()
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    # --- schema -----------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        if "meta" not in self.db.table_names():
            version = 0
        else:
            version = int(self.get_meta("schema_version") or 0)
        for number, migration in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            self.db.execute("BEGIN IMMEDIATE")
            try:
                migration(self.db)
                self.db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", [str(number)]
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return int(self.get_meta("schema_version") or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.conn.close()

    # --- meta ----------------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value])

    # --- events (our own sync position is advanced only after these rows are written) --------------------------
    def record_event(
        self,
        event_id: str,
        room_id: str,
        sender: str,
        kind: str,
        origin_ts: int,
        payload: dict[str, Any],
    ) -> bool:
        """Remember a command-like event; False if it was seen before (a replay has no second effect)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO events(event_id, room_id, sender, kind, origin_ts, received_at, payload, status,"
            " outcome) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', '')",
            [
                event_id,
                room_id,
                sender,
                kind,
                origin_ts,
                self.clock(),
                self.box.seal(json.dumps(payload), event_id),
            ],
        )
        return cur.rowcount == 1

    def seen_event(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM events WHERE event_id = ?", [event_id]).fetchone() is not None

    def pending_events(self) -> list[StoredEvent]:
        rows = self.db.execute(
            "SELECT event_id, room_id, sender, kind, origin_ts, payload FROM events"
            " WHERE status = 'pending' ORDER BY origin_ts, received_at"
        ).fetchall()
        return [
            StoredEvent(r[0], r[1], r[2], r[3], r[4], json.loads(self.box.open(r[5], r[0]))) for r in rows
        ]

    def finish_event(self, event_id: str, outcome: str) -> None:
        self.db.execute("UPDATE events SET status = 'done', outcome = ? WHERE event_id = ?", [outcome, event_id])

    def event_outcome(self, event_id: str) -> str | None:
        row = self.db.execute("SELECT status, outcome FROM events WHERE event_id = ?", [event_id]).fetchone()
        return None if row is None else (row[1] if row[0] == "done" else "pending")

    # --- undecryptable events ------------------------------------------------------------------------------------
    def record_undecryptable(self, event_id: str, room_id: str, sender: str, source: dict[str, Any]) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO undecryptable(event_id, room_id, sender, source, first_seen, status)"
            " VALUES (?, ?, ?, ?, ?, 'waiting')",
            [event_id, room_id, sender, json.dumps(source), self.clock()],
        )
        return cur.rowcount == 1

    def waiting_undecryptable(self) -> list[tuple[str, str, str, dict[str, Any], float]]:
        rows = self.db.execute(
            "SELECT event_id, room_id, sender, source, first_seen FROM undecryptable WHERE status = 'waiting'"
            " ORDER BY first_seen"
        ).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def set_undecryptable_status(self, event_id: str, status: str) -> None:
        self.db.execute("UPDATE undecryptable SET status = ? WHERE event_id = ?", [status, event_id])

    # --- outbox --------------------------------------------------------------------------------------------------
    def enqueue(
        self,
        target_kind: str,
        target: str,
        content: dict[str, Any],
        purpose: str = "",
        event_type: str = "m.room.message",
    ) -> str:
        """Queue one message; its transaction id is fixed now so every retry is de-duplicated by the homeserver."""
        txn_id = f"jb-{uuid.uuid4().hex}"
        now = self.clock()
        self.db.execute(
            "INSERT INTO outbox(txn_id, target_kind, target, event_type, content, status, attempts, next_attempt_at,"
            " created_at, sent_at, sent_event_id, purpose, last_error) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?,"
            " NULL, NULL, ?, '')",
            [txn_id, target_kind, target, event_type, self.box.seal(json.dumps(content), txn_id), now, now, purpose],
        )
        return txn_id

    def due_outbox(self, now: float | None = None, limit: int = 50) -> list[OutboxRow]:
        now = self.clock() if now is None else now
        rows = self.db.execute(
            "SELECT id, txn_id, target_kind, target, event_type, content, attempts, next_attempt_at, purpose"
            " FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            [now, limit],
        ).fetchall()
        return [
            OutboxRow(r[0], r[1], r[2], r[3], r[4], json.loads(self.box.open(r[5], r[1])), r[6], r[7], r[8])
            for r in rows
        ]

    def next_outbox_time(self) -> float | None:
        row = self.db.execute("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'").fetchone()
        return row[0] if row and row[0] is not None else None

    def outbox_sent(self, row_id: int, event_id: str) -> None:
        self.db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, sent_event_id = ?, attempts = attempts + 1 WHERE id = ?",
            [self.clock(), event_id, row_id],
        )

    def outbox_retry(self, row_id: int, next_attempt_at: float, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
            [next_attempt_at, error[:500], row_id],
        )

    def retry_all_now(self) -> None:
        self.db.execute("UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending'", [self.clock()])

    def outbox_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())

    def sent_event_for(self, txn_id: str) -> str | None:
        row = self.db.execute("SELECT sent_event_id FROM outbox WHERE txn_id = ?", [txn_id]).fetchone()
        return row[0] if row else None

    # --- direct rooms --------------------------------------------------------------------------------------------
    def direct_room(self, user_id: str) -> str | None:
        row = self.db.execute("SELECT room_id FROM direct_rooms WHERE user_id = ?", [user_id]).fetchone()
        return row[0] if row else None

    def set_direct_room(self, user_id: str, room_id: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO direct_rooms(user_id, room_id, created_at) VALUES (?, ?, ?)",
            [user_id, room_id, self.clock()],
        )

    def direct_room_users(self) -> dict[str, str]:
        return {r[1]: r[0] for r in self.db.execute("SELECT user_id, room_id FROM direct_rooms").fetchall()}

    # --- audit trail: append-only, each entry hashes the one before ------------------------------------------------
    def audit(self, actor: str, action: str, subject: str = "", data: dict[str, Any] | None = None) -> None:
        """Append an entry; call inside the transaction that makes the change it describes."""
        row = self.db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else AUDIT_GENESIS
        at = self.clock()
        body = json.dumps(data or {}, sort_keys=True, separators=(",", ":"))
        digest = _audit_hash(prev, at, actor, action, subject, body)
        self.db.execute(
            "INSERT INTO audit(at, actor, action, subject, data, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [at, actor, action, subject, body, prev, digest],
        )

    def verify_audit(self) -> tuple[bool, int, str]:
        """(ok, entries checked, first problem)."""
        prev = AUDIT_GENESIS
        count = 0
        for seq, at, actor, action, subject, data, stored_prev, stored_hash in self.db.execute(
            "SELECT seq, at, actor, action, subject, data, prev, hash FROM audit ORDER BY seq"
        ):
            count += 1
            if stored_prev != prev:
                return False, count, f"entry {seq}: does not follow the entry before it"
            if _audit_hash(prev, at, actor, action, subject, data) != stored_hash:
                return False, count, f"entry {seq}: altered"
            prev = stored_hash
        return True, count, ""

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        return [
            dict(r) for r in self.db["audit"].rows_where(order_by="seq desc", limit=limit)
        ]


def _audit_hash(prev: str, at: float, actor: str, action: str, subject: str, data: str) -> str:
    material = json.dumps([prev, repr(at), actor, action, subject, data], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()
