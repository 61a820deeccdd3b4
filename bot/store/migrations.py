"""The schema, as numbered steps. Each step runs in a transaction of its own with the version it reaches, so a crash
mid-upgrade leaves the database at the last completed step; a database newer than this code is refused, never used."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from bot.store.db import Database, SqliteDatabase
from bot.store.outbox import alarm_purpose, txn_id
from bot.store.secretbox import SecretBox


class SchemaTooNew(Exception):
    """The database was written by a newer jourbot; using it could lose what that version stored."""


def _step_1(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("events").create(
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
    db.table("events").create_index(["status", "origin_ts"])
    db.table("undecryptable").create(
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
    db.table("outbox").create(
        {
            "id": int,
            "txn_id": str,
            "target_kind": str,
            "target": str,
            "event_type": str,
            "content": str,  # sealed: pages carry free text
            "status": str,  # pending | sent | failed
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
    db.table("outbox").create_index(["txn_id"], unique=True)
    db.table("outbox").create_index(["status", "next_attempt_at"])
    db.table("direct_rooms").create({"user_id": str, "room_id": str, "created_at": float}, pk="user_id")
    db.table("audit").create(
        {"seq": int, "at": float, "actor": str, "action": str, "subject": str, "data": str, "prev": str, "hash": str},
        pk="seq",
    )


def _step_2(db: sqlite_utils.Database) -> None:
    db.table("alarms").create(
        {
            "id": str,
            "number": int,
            "status": str,
            "area": str,
            "unit": str,
            "raised_by": str,
            "raised_at": float,
            "police_room": str,
            "state": str,  # the alarm state machine's JSON, sealed
            "details": str,  # sealed free text
            "updated_at": float,
        },
        pk="id",
    )
    db.table("alarms").create_index(["number"], unique=True)
    db.table("alarms").create_index(["status"])
    db.table("alarms").create_index(["raised_by", "raised_at"])
    db.table("deadlines").create({"alarm_id": str, "at": float}, pk="alarm_id")
    db.table("page_events").create({"event_id": str, "alarm_id": str, "user_id": str}, pk="event_id")
    db.table("overrides").create(
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


def _highest(db: sqlite_utils.Database, prefix: str, table_sql: str) -> int:
    """The highest number ever given out with `prefix` (L42, B7), from live rows and from the audit trail, which
    retention never purges: a purged alarm's number must not come back."""
    pattern = re.compile(rf"^{prefix}(\d+)$")
    found = 0
    for (value,) in db.execute(table_sql).fetchall():
        match = pattern.match(str(value))
        if match:
            found = max(found, int(match.group(1)))
    for (subject,) in db.execute("SELECT DISTINCT subject FROM audit").fetchall():
        match = pattern.match(str(subject))
        if match:
            found = max(found, int(match.group(1)))
    return found


def _step_3(db: sqlite_utils.Database) -> None:
    """Sequences that never reuse an id; per-target order, priorities and delivery deadlines in the outbox; the
    last event seen per room, so filling a timeline gap stops where the bot had already been."""
    db.execute("CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute(
        "INSERT INTO sequences(name, value) VALUES ('alarm', ?), ('override', ?)",
        [_highest(db, "L", "SELECT id FROM alarms"), _highest(db, "B", "SELECT id FROM overrides")],
    )
    db.execute("ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 2")
    db.execute("ALTER TABLE outbox ADD COLUMN deliver_by REAL")
    db.execute("ALTER TABLE outbox ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE outbox ADD COLUMN failure TEXT")
    db.execute("CREATE INDEX outbox_by_target ON outbox(status, target_kind, target, id)")
    db.execute("CREATE INDEX outbox_by_deliver_by ON outbox(status, overdue, deliver_by)")
    db.execute("CREATE INDEX deadlines_by_at ON deadlines(at)")
    db.execute(
        "CREATE TABLE sync_heads (room_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, origin_ts INTEGER NOT NULL)"
    )


def _step_4(db: sqlite_utils.Database) -> None:
    """Which message raised an alarm, so an edit or a redaction of that message finds its alarm."""
    db.execute("ALTER TABLE alarms ADD COLUMN police_event TEXT")
    db.execute("CREATE INDEX alarms_by_police_event ON alarms(police_event)")


def _step_5(db: sqlite_utils.Database) -> None:
    """What happens after acceptance: each alarm's phases (on the way, arrived, assessment, handed over) and the
    encrypted room the bot opened for it."""
    db.execute(
        "CREATE TABLE alarm_phases (alarm_id TEXT NOT NULL, phase TEXT NOT NULL, at REAL NOT NULL, by TEXT NOT NULL,"
        " eta_minutes INTEGER, assessment_made INTEGER, decision TEXT, unit TEXT, PRIMARY KEY (alarm_id, phase))"
    )
    db.execute("CREATE INDEX alarm_phases_by_at ON alarm_phases(at)")
    db.execute(
        "CREATE TABLE alarm_rooms (alarm_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, created_at REAL NOT NULL,"
        " closed_at REAL)"
    )
    db.execute("CREATE INDEX alarm_rooms_by_room ON alarm_rooms(room_id)")


def _step_6(db: sqlite_utils.Database) -> None:
    """The handover to the district offices (when each office next opens, and each alarm handed over), and the
    monthly figures per area that outlive the alarms they were counted from."""
    db.execute(
        "CREATE TABLE handover_openings (unit TEXT PRIMARY KEY, at REAL NOT NULL, since REAL NOT NULL)"
    )
    db.execute(
        "CREATE TABLE handovers (alarm_id TEXT PRIMARY KEY, unit TEXT NOT NULL, area TEXT NOT NULL,"
        " opened_at REAL NOT NULL, posted_at REAL NOT NULL, remind_at REAL, reminders INTEGER NOT NULL DEFAULT 0,"
        " received_by TEXT, received_at REAL)"
    )
    db.execute("CREATE INDEX handovers_by_remind_at ON handovers(remind_at)")
    db.execute("CREATE INDEX handovers_by_unit ON handovers(unit, received_at)")
    db.execute(
        "CREATE TABLE area_months (area TEXT NOT NULL, month TEXT NOT NULL, figures TEXT NOT NULL,"
        " computed_at REAL NOT NULL, PRIMARY KEY (area, month))"
    )


def _step_7(db: sqlite_utils.Database) -> None:
    """Shift check-ins: one row per configured shift start, planned ahead so a restart loses none; `at` is when the
    row is next due (the ask at the shift start, then the report to the supervisors), the store being the timer."""
    db.execute(
        "CREATE TABLE checkins (id TEXT PRIMARY KEY, unit TEXT NOT NULL, role TEXT NOT NULL, shift_start REAL NOT NULL,"
        " shift_end REAL NOT NULL, user_id TEXT, status TEXT NOT NULL, at REAL, asked_at REAL, answer_by REAL,"
        " answered_at REAL, reported_at REAL, event_id TEXT)"
    )
    db.execute("CREATE INDEX checkins_by_at ON checkins(at)")
    db.execute("CREATE INDEX checkins_by_user ON checkins(user_id, shift_start)")
    db.execute("CREATE INDEX checkins_by_event ON checkins(event_id)")


def _step_8(db: sqlite_utils.Database) -> None:
    """When each page reached its person and when they read it; text messages for the SMS gateway."""
    db.execute(
        "CREATE TABLE page_watch (event_id TEXT PRIMARY KEY, alarm_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " room_id TEXT NOT NULL, delivered_at REAL NOT NULL, seen_at REAL, unseen_due_at REAL)"
    )
    db.execute("CREATE INDEX page_watch_by_reader ON page_watch(room_id, user_id, seen_at)")
    db.execute("CREATE INDEX page_watch_by_alarm ON page_watch(alarm_id)")
    db.execute("CREATE INDEX page_watch_by_due ON page_watch(unseen_due_at)")
    db.execute(
        "CREATE TABLE sms (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, alarm_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL, phone TEXT NOT NULL, text TEXT NOT NULL, why TEXT NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, next_attempt_at REAL NOT NULL, created_at REAL NOT NULL, sent_at REAL,"
        " gateway_id TEXT, last_error TEXT NOT NULL, reported INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX sms_by_status ON sms(status, next_attempt_at)")
    db.execute("CREATE INDEX outbox_by_sent_event ON outbox(sent_event_id)")


def _step_9(db: sqlite_utils.Database) -> None:
    """The last roster folder that was put in force, file by file, so a bot started on a broken folder runs on it."""
    db.execute(
        "CREATE TABLE roster_snapshots (key TEXT PRIMARY KEY, digest TEXT NOT NULL, saved_at REAL NOT NULL,"
        " folder TEXT NOT NULL, files TEXT NOT NULL)"
    )


def _step_10(db: sqlite_utils.Database) -> None:
    """The browser view: one-time login links, sessions and calendar feeds, each kept only as a hash of its token."""
    db.execute(
        "CREATE TABLE web_links (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at REAL NOT NULL,"
        " expires_at REAL NOT NULL, used_at REAL)"
    )
    db.execute(
        "CREATE TABLE web_sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at REAL NOT NULL,"
        " expires_at REAL NOT NULL, ended_at REAL)"
    )
    db.execute(
        "CREATE TABLE web_feeds (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
        " subject TEXT NOT NULL, created_by TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL)"
    )


def _step_11(db: sqlite_utils.Database) -> None:
    """Leave made in the browser by a supervisor; removed entries are kept (removed_at) for the audit's sake."""
    db.execute(
        "CREATE TABLE leave_entries (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, start TEXT NOT NULL,"
        " end TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, created_at REAL NOT NULL,"
        " removed_at REAL)"
    )
    db.execute("CREATE INDEX leave_entries_active ON leave_entries(removed_at, start)")


def _step_12(db: sqlite_utils.Database) -> None:
    """Trust: each person's cross-signing identity pinned on first sight, the devices seen under it (reported to the
    supervisors in `tofu` mode), and who besides the room's own people the bot let into a room it owns."""
    db.execute(
        "CREATE TABLE identities (user_id TEXT PRIMARY KEY, master_key TEXT NOT NULL, pinned_at REAL NOT NULL,"
        " seen_key TEXT, changed_at REAL)"
    )
    db.execute(
        "CREATE TABLE known_devices (user_id TEXT NOT NULL, device_id TEXT NOT NULL, first_seen REAL NOT NULL,"
        " reported_at REAL, PRIMARY KEY (user_id, device_id))"
    )
    db.execute(
        "CREATE TABLE room_audience (room_id TEXT NOT NULL, user_id TEXT NOT NULL, added_at REAL NOT NULL,"
        " PRIMARY KEY (room_id, user_id))"
    )


def _step_13(db: sqlite_utils.Database) -> None:
    """The audit trail keyed (bot/store/audit.py): `prev` and `hash` now hold MACs, made anew from the start at the
    first open with the key; what the purge may take from an entry is kept apart, with its digest in the MAC."""
    db.execute("ALTER TABLE audit ADD COLUMN private TEXT")
    db.execute("ALTER TABLE audit ADD COLUMN private_digest TEXT NOT NULL DEFAULT ''")


def _step_14(db: sqlite_utils.Database) -> None:
    """The browser view: a session ends after half an hour unused (when it was last used), and a calendar feed runs
    out (a year after it was made, for those made before)."""
    db.execute("ALTER TABLE web_sessions ADD COLUMN last_seen_at REAL")
    db.execute("UPDATE web_sessions SET last_seen_at = created_at")
    db.execute("ALTER TABLE web_feeds ADD COLUMN expires_at REAL")
    db.execute("UPDATE web_feeds SET expires_at = created_at + 365 * 86400")


def _step_15(db: sqlite_utils.Database, box: SecretBox) -> None:
    """SMS are outbox rows (target kind "sms", bot/channels/sms/channel.py): one send loop carries every channel. Each
    row of the old table moves, its phone number and text sealed like any message's content, so a pending one is still
    sent (and a re-queued cause still finds it: the same transaction id) and the browser view still shows the rest."""
    rows = db.execute(
        "SELECT key, alarm_id, user_id, phone, text, why, status, attempts, next_attempt_at, created_at, sent_at,"
        " gateway_id, last_error FROM sms ORDER BY id").fetchall()
    for (key, alarm_id, user_id, phone, text, why, status, attempts, next_attempt_at, created_at, sent_at,
         gateway_id, last_error) in rows:
        txn = txn_id("sms:" + key, 0)  # the cause the SMS channel queues it under
        failure = {"failed": (last_error or "").partition(":")[0] or "rejected", "dropped": "dropped"}.get(status)
        db.execute(
            "INSERT OR IGNORE INTO outbox(txn_id, target_kind, target, event_type, content, status, attempts,"
            " next_attempt_at, created_at, sent_at, sent_event_id, purpose, last_error, priority, deliver_by,"
            " overdue, failure) VALUES (?, 'sms', ?, 'sms', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            [txn, user_id, box.seal(json.dumps({"phone": phone, "text": text, "why": why}), txn), status, attempts,
             next_attempt_at, created_at, sent_at, gateway_id, alarm_purpose(alarm_id), last_error or "",
             created_at + 900.0, int(status != "pending"), failure],
        )
    db.execute("DROP TABLE sms")
    db.execute("CREATE INDEX outbox_by_purpose ON outbox(purpose, target_kind)")


@dataclass(frozen=True)
class Sealing:
    """A step that seals what it writes: it runs once the data key is at hand (bot/store/__init__.py)."""

    step: Callable[[sqlite_utils.Database, SecretBox], None]


def _step_16(db: sqlite_utils.Database) -> None:
    """Which instance acts where several share the database, and its fencing epoch (bot/store/acting.py): one row,
    raised at every takeover, with the acting instance's heartbeat count. A lone SQLite bot
    never takes over; the table is kept for the dialects' one schema."""
    db.execute("CREATE TABLE acting (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL,"
               " holder TEXT NOT NULL, since REAL NOT NULL, beats INTEGER NOT NULL)")
    db.execute("INSERT INTO acting(id, epoch, holder, since, beats) VALUES (1, 0, '', 0, 0)")


def _step_17(db: sqlite_utils.Database) -> None:
    """The bot account's own cross-signing keys, sealed, one row that every instance sharing the database signs its
    device with (bot/store/cross_signing.py); the public master key beside them, unsealed, to compare without the
    data key."""
    db.execute("CREATE TABLE cross_signing_keys (id INTEGER PRIMARY KEY CHECK (id = 1), user_id TEXT NOT NULL,"
               " master_key TEXT NOT NULL, sealed TEXT NOT NULL, stored_at REAL NOT NULL)")


def _step_18(db: sqlite_utils.Database) -> None:
    """Which fencing epoch started the last attempt at a message, and whether it is being sent again after a takeover
    (bot/ha/repeats.py): an attempt another instance started may have reached the homeserver before that instance
    died, and the taker's own device cannot have the homeserver drop it by its transaction id. Empty on SQLite."""
    db.execute("ALTER TABLE outbox ADD COLUMN attempt_epoch INTEGER")
    db.execute("ALTER TABLE outbox ADD COLUMN repeated INTEGER NOT NULL DEFAULT 0")


STEPS: list[Callable[[sqlite_utils.Database], None] | Sealing] = [
    _step_1, _step_2, _step_3, _step_4, _step_5, _step_6, _step_7, _step_8, _step_9, _step_10, _step_11, _step_12,
    _step_13, _step_14, Sealing(_step_15), _step_16, _step_17, _step_18,
]


# --- PostgreSQL ------------------------------------------------------------------------------------------------------
# The same steps in PostgreSQL's words, step for step, so both dialects number their schema alike (a test checks that
# both reach the same tables, columns, keys and indexes). SQLite's INTEGER is 64 bits: BIGINT; REAL: DOUBLE
# PRECISION; an INTEGER PRIMARY KEY numbers itself: an identity column. `end` is a reserved word there: quoted.
# No PostgreSQL database predates the last SQLite step, so the steps that carry old data over (3's sequences from the
# highest ids, 14's defaults for older rows) start from empty tables; they are kept, as plain statements, for the
# numbering's sake.
PG_STEPS: list[tuple[str, ...]] = [
    (  # 1
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
        "CREATE TABLE events (event_id TEXT PRIMARY KEY, room_id TEXT, sender TEXT, kind TEXT, origin_ts BIGINT,"
        " received_at DOUBLE PRECISION, payload TEXT, status TEXT, outcome TEXT)",
        "CREATE INDEX idx_events_status_origin_ts ON events (status, origin_ts)",
        "CREATE TABLE undecryptable (event_id TEXT PRIMARY KEY, room_id TEXT, sender TEXT, source TEXT,"
        " first_seen DOUBLE PRECISION, status TEXT)",
        "CREATE TABLE outbox (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, txn_id TEXT, target_kind TEXT,"
        " target TEXT, event_type TEXT, content TEXT, status TEXT, attempts BIGINT, next_attempt_at DOUBLE PRECISION,"
        " created_at DOUBLE PRECISION, sent_at DOUBLE PRECISION, sent_event_id TEXT, purpose TEXT, last_error TEXT)",
        "CREATE UNIQUE INDEX idx_outbox_txn_id ON outbox (txn_id)",
        "CREATE INDEX idx_outbox_status_next_attempt_at ON outbox (status, next_attempt_at)",
        "CREATE TABLE direct_rooms (user_id TEXT PRIMARY KEY, room_id TEXT, created_at DOUBLE PRECISION)",
        "CREATE TABLE audit (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at DOUBLE PRECISION, actor TEXT,"
        " action TEXT, subject TEXT, data TEXT, prev TEXT, hash TEXT)",
    ),
    (  # 2
        "CREATE TABLE alarms (id TEXT PRIMARY KEY, number BIGINT, status TEXT, area TEXT, unit TEXT, raised_by TEXT,"
        " raised_at DOUBLE PRECISION, police_room TEXT, state TEXT, details TEXT, updated_at DOUBLE PRECISION)",
        "CREATE UNIQUE INDEX idx_alarms_number ON alarms (number)",
        "CREATE INDEX idx_alarms_status ON alarms (status)",
        "CREATE INDEX idx_alarms_raised_by_raised_at ON alarms (raised_by, raised_at)",
        "CREATE TABLE deadlines (alarm_id TEXT PRIMARY KEY, at DOUBLE PRECISION)",
        "CREATE TABLE page_events (event_id TEXT PRIMARY KEY, alarm_id TEXT, user_id TEXT)",
        "CREATE TABLE overrides (id TEXT PRIMARY KEY, user_id TEXT, name TEXT, unit TEXT, role TEXT, start TEXT,"
        ' "end" TEXT, created_by TEXT, created_at DOUBLE PRECISION, removed_at DOUBLE PRECISION, reason TEXT)',
    ),
    (  # 3
        "CREATE TABLE sequences (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO sequences(name, value) VALUES ('alarm', 0), ('override', 0)",
        "ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 2",
        "ALTER TABLE outbox ADD COLUMN deliver_by DOUBLE PRECISION",
        "ALTER TABLE outbox ADD COLUMN overdue BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE outbox ADD COLUMN failure TEXT",
        "CREATE INDEX outbox_by_target ON outbox(status, target_kind, target, id)",
        "CREATE INDEX outbox_by_deliver_by ON outbox(status, overdue, deliver_by)",
        "CREATE INDEX deadlines_by_at ON deadlines(at)",
        "CREATE TABLE sync_heads (room_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, origin_ts BIGINT NOT NULL)",
    ),
    (  # 4
        "ALTER TABLE alarms ADD COLUMN police_event TEXT",
        "CREATE INDEX alarms_by_police_event ON alarms(police_event)",
    ),
    (  # 5
        "CREATE TABLE alarm_phases (alarm_id TEXT NOT NULL, phase TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,"
        " by TEXT NOT NULL, eta_minutes BIGINT, assessment_made BIGINT, decision TEXT, unit TEXT,"
        " PRIMARY KEY (alarm_id, phase))",
        "CREATE INDEX alarm_phases_by_at ON alarm_phases(at)",
        "CREATE TABLE alarm_rooms (alarm_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, created_at DOUBLE PRECISION"
        " NOT NULL, closed_at DOUBLE PRECISION)",
        "CREATE INDEX alarm_rooms_by_room ON alarm_rooms(room_id)",
    ),
    (  # 6
        "CREATE TABLE handover_openings (unit TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL,"
        " since DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE handovers (alarm_id TEXT PRIMARY KEY, unit TEXT NOT NULL, area TEXT NOT NULL,"
        " opened_at DOUBLE PRECISION NOT NULL, posted_at DOUBLE PRECISION NOT NULL, remind_at DOUBLE PRECISION,"
        " reminders BIGINT NOT NULL DEFAULT 0, received_by TEXT, received_at DOUBLE PRECISION)",
        "CREATE INDEX handovers_by_remind_at ON handovers(remind_at)",
        "CREATE INDEX handovers_by_unit ON handovers(unit, received_at)",
        "CREATE TABLE area_months (area TEXT NOT NULL, month TEXT NOT NULL, figures TEXT NOT NULL,"
        " computed_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (area, month))",
    ),
    (  # 7
        "CREATE TABLE checkins (id TEXT PRIMARY KEY, unit TEXT NOT NULL, role TEXT NOT NULL,"
        " shift_start DOUBLE PRECISION NOT NULL, shift_end DOUBLE PRECISION NOT NULL, user_id TEXT,"
        " status TEXT NOT NULL, at DOUBLE PRECISION, asked_at DOUBLE PRECISION, answer_by DOUBLE PRECISION,"
        " answered_at DOUBLE PRECISION, reported_at DOUBLE PRECISION, event_id TEXT)",
        "CREATE INDEX checkins_by_at ON checkins(at)",
        "CREATE INDEX checkins_by_user ON checkins(user_id, shift_start)",
        "CREATE INDEX checkins_by_event ON checkins(event_id)",
    ),
    (  # 8
        "CREATE TABLE page_watch (event_id TEXT PRIMARY KEY, alarm_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " room_id TEXT NOT NULL, delivered_at DOUBLE PRECISION NOT NULL, seen_at DOUBLE PRECISION,"
        " unseen_due_at DOUBLE PRECISION)",
        "CREATE INDEX page_watch_by_reader ON page_watch(room_id, user_id, seen_at)",
        "CREATE INDEX page_watch_by_alarm ON page_watch(alarm_id)",
        "CREATE INDEX page_watch_by_due ON page_watch(unseen_due_at)",
        "CREATE TABLE sms (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
        " alarm_id TEXT NOT NULL, user_id TEXT NOT NULL, phone TEXT NOT NULL, text TEXT NOT NULL, why TEXT NOT NULL,"
        " status TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL,"
        " created_at DOUBLE PRECISION NOT NULL, sent_at DOUBLE PRECISION, gateway_id TEXT, last_error TEXT NOT NULL,"
        " reported BIGINT NOT NULL)",
        "CREATE INDEX sms_by_status ON sms(status, next_attempt_at)",
        "CREATE INDEX outbox_by_sent_event ON outbox(sent_event_id)",
    ),
    (  # 9
        "CREATE TABLE roster_snapshots (key TEXT PRIMARY KEY, digest TEXT NOT NULL, saved_at DOUBLE PRECISION NOT NULL,"
        " folder TEXT NOT NULL, files TEXT NOT NULL)",
    ),
    (  # 10
        "CREATE TABLE web_links (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
        " created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL, used_at DOUBLE PRECISION)",
        "CREATE TABLE web_sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
        " created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL, ended_at DOUBLE PRECISION)",
        "CREATE TABLE web_feeds (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
        " subject TEXT NOT NULL, created_by TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,"
        " revoked_at DOUBLE PRECISION)",
    ),
    (  # 11
        "CREATE TABLE leave_entries (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, start TEXT NOT NULL,"
        ' "end" TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,'
        " removed_at DOUBLE PRECISION)",
        "CREATE INDEX leave_entries_active ON leave_entries(removed_at, start)",
    ),
    (  # 12
        "CREATE TABLE identities (user_id TEXT PRIMARY KEY, master_key TEXT NOT NULL,"
        " pinned_at DOUBLE PRECISION NOT NULL, seen_key TEXT, changed_at DOUBLE PRECISION)",
        "CREATE TABLE known_devices (user_id TEXT NOT NULL, device_id TEXT NOT NULL,"
        " first_seen DOUBLE PRECISION NOT NULL, reported_at DOUBLE PRECISION, PRIMARY KEY (user_id, device_id))",
        "CREATE TABLE room_audience (room_id TEXT NOT NULL, user_id TEXT NOT NULL, added_at DOUBLE PRECISION NOT NULL,"
        " PRIMARY KEY (room_id, user_id))",
    ),
    (  # 13
        "ALTER TABLE audit ADD COLUMN private TEXT",
        "ALTER TABLE audit ADD COLUMN private_digest TEXT NOT NULL DEFAULT ''",
    ),
    (  # 14
        "ALTER TABLE web_sessions ADD COLUMN last_seen_at DOUBLE PRECISION",
        "UPDATE web_sessions SET last_seen_at = created_at",
        "ALTER TABLE web_feeds ADD COLUMN expires_at DOUBLE PRECISION",
        "UPDATE web_feeds SET expires_at = created_at + 365 * 86400",
    ),
    (  # 15: no PostgreSQL database ever held an sms table's rows (they were moved into the outbox in SQLite)
        "DROP TABLE sms",
        "CREATE INDEX outbox_by_purpose ON outbox(purpose, target_kind)",
    ),
    (  # 16
        "CREATE TABLE acting (id BIGINT PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL, holder TEXT NOT NULL,"
        " since DOUBLE PRECISION NOT NULL, beats BIGINT NOT NULL)",
        "INSERT INTO acting(id, epoch, holder, since, beats) VALUES (1, 0, '', 0, 0)",
    ),
    (  # 17
        "CREATE TABLE cross_signing_keys (id BIGINT PRIMARY KEY CHECK (id = 1), user_id TEXT NOT NULL,"
        " master_key TEXT NOT NULL, sealed TEXT NOT NULL, stored_at DOUBLE PRECISION NOT NULL)",
    ),
    (  # 18
        "ALTER TABLE outbox ADD COLUMN attempt_epoch BIGINT",
        "ALTER TABLE outbox ADD COLUMN repeated BIGINT NOT NULL DEFAULT 0",
    ),
]


def schema_version(db: Database) -> int:
    if not db.has_table("meta"):
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(db: Database, box: SecretBox | None = None) -> int:
    """Bring the schema up to date, one step per transaction; returns the version reached. Without `box` it stops
    before the first step that seals: the data key's salt is kept in the database's meta table, made by step 1."""
    version = schema_version(db)
    count = len(STEPS) if db.dialect == "sqlite" else len(PG_STEPS)
    if version > count:
        raise SchemaTooNew(
            f"{db.where} has schema version {version}, but this jourbot knows only up to {count}: it was written"
            " by a newer jourbot. Run that version again, or restore the backup taken before the upgrade."
        )
    wrapped = sqlite_utils.Database(db.conn) if isinstance(db, SqliteDatabase) else None
    for number in range(version + 1, count + 1):
        step = STEPS[number - 1] if wrapped is not None else None
        if isinstance(step, Sealing) and box is None:
            return number - 1
        with db.transaction():
            if schema_version(db) >= number:  # another instance, starting at the same time, took this step first
                continue
            if wrapped is None:  # PostgreSQL's steps are plain statements, none of them seals
                for statement in PG_STEPS[number - 1]:
                    db.execute(statement)
            elif isinstance(step, Sealing):
                assert box is not None
                step.step(wrapped, box)
            elif step is not None:
                step(wrapped)
            db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)"
                       " ON CONFLICT(key) DO UPDATE SET value = excluded.value", [str(number)])
    return count
