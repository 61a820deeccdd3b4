"""The store: private, migrated step by step, refusing a newer schema, ids never reused, writes all-or-nothing."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import STEPS, NewMessage, SchemaTooNew, Store
from bot.store.db import Database, Topic
from bot.store.migrations import migrate
from bot.store.secretbox import DecryptionError, SecretBox
from rosters import Override

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state" / "jourbot.db", SecretBox("unit-test-key"))
    yield s
    s.close()


def message(target: str = "!r", body: str = "x", priority: int = 2) -> NewMessage:
    return NewMessage("room", target, {"body": body}, "reply", priority, 1e12)


def test_database_is_private_and_migrated(store, tmp_path):
    mode = stat.S_IMODE((tmp_path / "state" / "jourbot.db").stat().st_mode)
    assert mode == 0o600
    assert store.schema_version == len(STEPS)


def test_reopening_keeps_data_and_does_not_remigrate(tmp_path):
    path = tmp_path / "db.sqlite"
    s = Store(path, SecretBox("k"))
    with s.transaction():
        s.meta.set("note", "kept")
    s.close()
    again = Store(path, SecretBox("k"))
    assert again.meta.get("note") == "kept"
    again.close()


def test_a_database_newer_than_the_code_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "db.sqlite"
    Store(path, SecretBox("k")).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(len(STEPS) + 1)])
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer jourbot"):
        Store(path, SecretBox("k"))
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(len(STEPS) + 1)
    conn.close()


def test_a_failing_migration_step_leaves_the_database_at_the_step_before(tmp_path, monkeypatch):
    path = tmp_path / "db.sqlite"
    db = Database(path)

    def broken(_db: object) -> None:
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr("bot.store.migrations.STEPS", [*STEPS[:2], broken])
    with pytest.raises(RuntimeError):
        migrate(db)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    db.close()


def test_alarm_and_override_numbers_are_never_reused_after_a_purge(store):
    with store.transaction():
        assert [store.sequences.next("alarm") for _ in range(3)] == [1, 2, 3]
        first = store.overrides.add(Override("@a:x", "A", "u", "primary", NOW, NOW + timedelta(hours=1)), "@c:x", NOW)
    store.db.execute("DELETE FROM overrides")  # as a retention purge would
    with store.transaction():
        second = store.overrides.add(Override("@a:x", "A", "u", "primary", NOW, NOW + timedelta(hours=1)), "@c:x",
                                     NOW)
        assert store.sequences.next("alarm") == 4
    assert (first.id, second.id) == ("B1", "B2")


def test_a_rolled_back_number_comes_back_so_redone_work_gets_the_same_id(store):
    with pytest.raises(RuntimeError), store.transaction():
        assert store.sequences.next("alarm") == 1
        raise RuntimeError("crash before commit")
    with store.transaction():
        assert store.sequences.next("alarm") == 1


def test_upgrading_an_old_database_continues_numbering_past_purged_alarms(tmp_path, monkeypatch):
    path = tmp_path / "db.sqlite"
    monkeypatch.setattr("bot.store.migrations.STEPS", STEPS[:2])
    old = Store(path, SecretBox("k"))
    with old.transaction():  # L7 itself has been purged since; the entry as the jourbot of then wrote it
        old.db.execute("INSERT INTO audit(at, actor, action, subject, data, prev, hash)"
                       " VALUES (1.0, '@p:x', 'alarm.raised', 'L7', '{}', '', '')")
    old.close()
    monkeypatch.undo()
    new = Store(path, SecretBox("k"))
    with new.transaction():
        assert new.sequences.next("alarm") == 8
    new.close()


def test_an_event_has_effect_once(store):
    with store.transaction():
        assert store.events.record("$e1", "!r", "@p:x", "command", 1000, {"body": "!larm Farsta"})
        assert not store.events.record("$e1", "!r", "@p:x", "command", 1000, {"body": "!larm Farsta"})
    assert [e.event_id for e in store.events.pending()] == ["$e1"]
    with store.transaction():
        store.events.finish("$e1", "handled")
        assert not store.events.record("$e1", "!r", "@p:x", "command", 1000, {"body": "!larm Farsta"})
    assert store.events.pending() == []


def test_free_text_is_not_stored_in_the_clear(store, tmp_path):
    with store.transaction():
        store.events.record("$e1", "!r", "@p:x", "command", 1, {"body": "!larm Farsta två barn"})
        store.outbox.add(NewMessage("user", "@anna:x", {"body": "två barn i lägenheten"}, "page:L1:0", 0, 1e12),
                         "$e1", 0)
    raw = (tmp_path / "state" / "jourbot.db").read_bytes()
    wal = tmp_path / "state" / "jourbot.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert "två barn".encode() not in raw
    assert store.events.pending()[0].payload["body"] == "!larm Farsta två barn"


def test_rolled_back_transaction_leaves_nothing_and_announces_nothing(store):
    announced: list[str] = []
    store.db.on_commit(Topic.OUTBOX, lambda: announced.append("outbox"))
    with pytest.raises(RuntimeError), store.transaction():
        store.outbox.add(message(), "c", 0)
        store.meta.set("note", "s2")
        raise RuntimeError("crash between writes")
    assert store.outbox.heads() == [] and store.meta.get("note") is None and announced == []
    with store.transaction():
        store.outbox.add(message(), "c", 0)
        assert announced == []  # not before the commit
    assert announced == ["outbox"]


def test_a_savepoint_rolls_back_alone(store):
    with store.transaction():
        store.outbox.add(message(body="kept"), "c", 0)
        with pytest.raises(RuntimeError), store.transaction():
            store.outbox.add(message(body="dropped"), "c", 1)
            raise RuntimeError("one handler failed")
    assert [row.content["body"] for row, _ in store.outbox.heads()] == ["kept"]


def test_transaction_ids_come_from_the_cause_so_redone_work_is_deduplicated(store):
    with store.transaction():
        first = store.outbox.add(message(), "$event", 0)
        second = store.outbox.add(message(), "$event", 1)
    assert first != second and first.startswith("jb-")
    other = Store(store.db.path.parent / "other.db", SecretBox("unit-test-key"))
    with other.transaction():
        assert other.outbox.add(message(), "$event", 0) == first
    other.close()


def test_each_target_shows_its_oldest_message_and_the_most_urgent_target_comes_first(store):
    with store.transaction():
        store.outbox.add(message("!chatter", "a"), "c", 0)
        store.outbox.add(message("!police", "reply first"), "c", 1)
        store.outbox.add(message("!police", "alarm news", priority=1), "c", 2)
        store.outbox.add(message("!chatter", "b"), "c", 3)
    heads = [(row.target, row.content["body"], urgency) for row, urgency in store.outbox.heads()]
    assert heads == [("!police", "reply first", 1), ("!chatter", "a", 2)]


def test_outbox_keeps_transaction_id_across_retries_and_failures_are_final(store):
    with store.transaction():
        txn = store.outbox.add(message(), "c", 0)
    (row, _), = store.outbox.heads()
    with store.transaction():
        store.outbox.retry_at(row.id, 1e12 + 60, "homeserver down")
    (again, _), = store.outbox.heads()
    assert again.txn_id == txn and again.attempts == 1 and again.next_attempt_at == 1e12 + 60
    with store.transaction():
        store.outbox.failed(again.id, "too_large", "413")
    assert store.outbox.heads() == [] and store.outbox.status_of(txn) == ("failed", "too_large")


def test_audit_trail_verifies_and_detects_tampering(store, tmp_path):
    with store.transaction():
        store.audit.append("@p:x", "alarm.raised", "L1", {"area": "farsta"})
        store.audit.append("@a:x", "alarm.accepted", "L1")
    assert store.audit.verify() == (True, 2, "")
    conn = sqlite3.connect(tmp_path / "state" / "jourbot.db")
    conn.execute("UPDATE audit SET actor = '@mallory:x' WHERE seq = 1")
    conn.commit()
    conn.close()
    ok, _, problem = store.audit.verify()
    assert not ok and "entry 1" in problem


def test_secretbox_refuses_wrong_key_and_moved_ciphertext():
    box = SecretBox("right")
    token = box.seal("hemligt", "row-1")
    assert box.open(token, "row-1") == "hemligt"
    with pytest.raises(DecryptionError):
        SecretBox("wrong").open(token, "row-1")
    with pytest.raises(DecryptionError):
        box.open(token, "row-2")


def test_an_old_databases_sms_move_into_the_outbox_sealed_each_still_once(tmp_path, monkeypatch):
    """SMS are outbox rows now: an upgrade moves each row of the old table, so a pending one is still sent (with its
    tries so far), the browser view still shows the others, and the same cause queues no second SMS."""
    path = tmp_path / "db.sqlite"
    monkeypatch.setattr("bot.store.migrations.STEPS", STEPS[:14])
    old = Store(path, SecretBox("k"), lambda: 5000.0)
    with old.transaction():  # as the jourbot of then wrote them
        for key, user, status, attempts, error in (
                ("page:L1:@anna:x", "@anna:x", "pending", 1, "server: HTTP 503"),
                ("page:L1:@bo:x", "@bo:x", "failed", 1, "rejected: HTTP 403: Invalid to number"),
                ("fallback:L1:@chef:x", "@chef:x", "sent", 1, ""),
                ("page:L2:@anna:x", "@anna:x", "dropped", 2, "the alarm no longer needs it")):
            old.db.execute(
                "INSERT INTO sms(key, alarm_id, user_id, phone, text, why, status, attempts, next_attempt_at,"
                " created_at, sent_at, gateway_id, last_error, reported) VALUES (?, ?, ?, '+46701740605',"
                " 'Jourlarm L1 (Farsta).', 'unseen', ?, ?, 4000.0, 3000.0, ?, ?, ?, ?)",
                [key, key.split(":")[1], user, status, attempts, 3500.0 if status == "sent" else None,
                 "s1" if status == "sent" else None, error, int(attempts > 0)])
    old.close()
    monkeypatch.undo()

    new = Store(path, SecretBox("k"), lambda: 5000.0)
    try:
        assert new.db.execute("SELECT name FROM sqlite_master WHERE name = 'sms'").fetchone() is None
        shown = [(o.row.target, o.status, o.row.attempts, o.sent_at, o.failure)
                 for o in new.outbox.outcomes("sms", "alarm:L1")]
        assert shown == [("@anna:x", "pending", 1, None, "server"), ("@bo:x", "failed", 1, None, "rejected"),
                         ("@chef:x", "sent", 1, 3500.0, "")]
        assert [o.status for o in new.outbox.outcomes("sms", "alarm:L2")] == ["dropped"]
        [(head, _)] = new.outbox.heads()
        assert (head.target_kind, head.target, head.next_attempt_at) == ("sms", "@anna:x", 4000.0)
        assert head.content == {"phone": "+46701740605", "text": "Jourlarm L1 (Farsta).", "why": "unseen"}
        with new.transaction():
            again = NewMessage("sms", "@anna:x", head.content, "alarm:L1", 1, 1e12, event_type="sms")
            assert not new.outbox.add_once(again, "sms:page:L1:@anna:x"), "one SMS per person and alarm"
        assert b"+46701740605" not in path.read_bytes() + path.with_name(path.name + "-wal").read_bytes()
    finally:
        new.close()
