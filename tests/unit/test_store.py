from __future__ import annotations

import sqlite3
import stat

import pytest

from bot.secretbox import DecryptionError, SecretBox
from bot.store import MIGRATIONS, Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state" / "jourbot.db", SecretBox("unit-test-key"))
    yield s
    s.close()


def test_database_is_private_and_migrated(store, tmp_path):
    mode = stat.S_IMODE((tmp_path / "state" / "jourbot.db").stat().st_mode)
    assert mode == 0o600
    assert store.schema_version == len(MIGRATIONS)


def test_reopening_keeps_data_and_does_not_remigrate(tmp_path):
    path = tmp_path / "db.sqlite"
    s = Store(path, SecretBox("k"))
    s.set_meta("sync_token", "s1")
    s.close()
    again = Store(path, SecretBox("k"))
    assert again.get_meta("sync_token") == "s1"
    again.close()


def test_an_event_has_effect_once(store):
    assert store.record_event("$e1", "!r", "@p:x", "command", 1000, {"body": "!larm Farsta"})
    assert not store.record_event("$e1", "!r", "@p:x", "command", 1000, {"body": "!larm Farsta"})
    assert [e.event_id for e in store.pending_events()] == ["$e1"]
    store.finish_event("$e1", "handled")
    assert store.pending_events() == []
    assert not store.record_event("$e1", "!r", "@p:x", "command", 1000, {"body": "!larm Farsta"})


def test_free_text_is_not_stored_in_the_clear(store, tmp_path):
    store.record_event("$e1", "!r", "@p:x", "command", 1, {"body": "!larm Farsta två barn"})
    store.enqueue("user", "@anna:x", {"body": "två barn i lägenheten"})
    raw = (tmp_path / "state" / "jourbot.db").read_bytes()
    wal = tmp_path / "state" / "jourbot.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert "två barn".encode() not in raw
    assert store.pending_events()[0].payload["body"] == "!larm Farsta två barn"


def test_rolled_back_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.enqueue("room", "!r", {"body": "x"})
            store.set_meta("sync_token", "s2")
            raise RuntimeError("crash between writes")
    assert store.due_outbox() == []
    assert store.get_meta("sync_token") is None


def test_outbox_keeps_transaction_id_across_retries(store):
    txn = store.enqueue("room", "!r", {"body": "hej"})
    (row,) = store.due_outbox(now=store.clock())
    store.outbox_retry(row.id, store.clock() + 60, "homeserver down")
    assert store.due_outbox(now=store.clock()) == []
    (again,) = store.due_outbox(now=store.clock() + 61)
    assert again.txn_id == txn and again.attempts == 1
    store.outbox_sent(again.id, "$sent")
    assert store.due_outbox(now=store.clock() + 1000) == []
    assert store.sent_event_for(txn) == "$sent"


def test_audit_trail_verifies_and_detects_tampering(store, tmp_path):
    with store.transaction():
        store.audit("@p:x", "alarm.raised", "L1", {"area": "farsta"})
        store.audit("@a:x", "alarm.accepted", "L1")
    assert store.verify_audit() == (True, 2, "")
    conn = sqlite3.connect(tmp_path / "state" / "jourbot.db")
    conn.execute("UPDATE audit SET actor = '@mallory:x' WHERE seq = 1")
    conn.commit()
    conn.close()
    ok, _, problem = store.verify_audit()
    assert not ok and "entry 1" in problem


def test_secretbox_refuses_wrong_key_and_moved_ciphertext():
    box = SecretBox("right")
    token = box.seal("hemligt", "row-1")
    assert box.open(token, "row-1") == "hemligt"
    with pytest.raises(DecryptionError):
        SecretBox("wrong").open(token, "row-1")
    with pytest.raises(DecryptionError):
        box.open(token, "row-2")
