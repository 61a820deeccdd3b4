"""Purged means gone: after a purge, a purged alarm's free text (sealed or not), its decision and its reason are in
neither the database file nor its WAL; an older database is made able to give pages back once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import config as config_module
from bot.store import Store
from bot.store.alarms import AlarmRow
from bot.store.phases import PhaseRecord
from bot.store.retention import DAY
from bot.store.secretbox import SecretBox
from tests.harness.botrunner import TEST_DATA_KEY

MARKER = "kniv-i-koket-7f3a"
DECISION = "emergency_placement"
REASON = "nekad-av-REASON-91c"


def on_disk(db: Path) -> bytes:
    wal = Path(str(db) + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def sealed_values(store: Store) -> list[str]:
    rows = store.db.execute("SELECT details FROM alarms UNION ALL SELECT state FROM alarms UNION ALL"
                            " SELECT payload FROM events UNION ALL SELECT content FROM outbox").fetchall()
    return [r[0] for r in rows]


def test_a_purged_alarm_leaves_nothing_in_the_database_file_or_its_wal(tmp_path):
    clock = [1_000_000_000.0]
    db = tmp_path / "state" / "jourbot.db"
    store = Store(db, SecretBox(TEST_DATA_KEY), clock=lambda: clock[0])
    with store.transaction():
        store.alarms.insert(AlarmRow("L1", 1, "closed", "farsta", "jour", "@p:x", clock[0], "!r",
                                     {"v": 2, "note": MARKER}), f"!larm Farsta {MARKER}")
        store.events.record("$larm", "!r", "@p:x", "command", 1, {"body": f"!larm Farsta {MARKER}"})
        store.events.finish("$larm", "handled")
        store.phases.record(PhaseRecord("L1", "assessment", clock[0], "@a:x", assessment_made=True,
                                        decision=DECISION))
        store.audit.append("@a:x", "phase.recorded", "L1", {"phase": "assessment", "made": True,
                                                            "decision": DECISION})
        store.audit.append("outbox", "alarmroom.refused", "L1", {"reason": REASON})
    sealed = sealed_values(store)
    before = on_disk(db)
    assert DECISION.encode() in before and REASON.encode() in before, "there before the purge"
    assert all(token.encode() in before for token in sealed)

    clock[0] += 400 * DAY
    counts = store.retention.purge(clock[0], 365)

    assert counts["alarms"] == 1 and counts["audit_private"] == 2
    after = on_disk(db)
    for gone in (MARKER, DECISION, REASON, *sealed):
        assert gone.encode() not in after, gone
    assert not Path(str(db) + "-wal").exists() or Path(str(db) + "-wal").stat().st_size == 0
    assert store.audit.verify()[0]
    assert [e["action"] for e in store.audit.about("L1")] == ["phase.recorded", "alarmroom.refused"]
    store.close()


def test_an_older_database_is_rewritten_once_so_purges_can_give_pages_back(tmp_path):
    db = tmp_path / "jourbot.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE made_before (x)")  # a database as jourbot made it then: no auto_vacuum
    conn.commit()
    conn.close()
    store = Store(db, SecretBox(TEST_DATA_KEY))
    assert store.db.incremental
    assert [e["action"] for e in store.audit.entries()] == ["store.vacuumed"]
    store.close()
    again = Store(db, SecretBox(TEST_DATA_KEY))
    assert [e["action"] for e in again.audit.entries()] == ["store.vacuumed"], "once"
    again.close()


@pytest.mark.parametrize("days", [0, -1])
def test_retention_of_less_than_a_day_is_refused(tmp_path, days):
    path = tmp_path / "config.toml"
    path.write_text(f'[matrix]\nhomeserver = "https://m.example.org"\nuser_id = "@b:example.org"\n\n'
                    f"[storage]\nretention_days = {days}\n")
    with pytest.raises(config_module.ConfigError, match=r"\[storage\] retention_days: expected at least 1 day"):
        config_module.load(path)
