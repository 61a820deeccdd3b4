from __future__ import annotations

from bot.retention import DAY, purge
from bot.secretbox import SecretBox
from bot.store import Store


def test_old_finished_data_is_purged_open_alarms_kept_and_the_purge_audited(tmp_path):
    clock = [1_000_000_000.0]
    store = Store(tmp_path / "db", SecretBox("k"), clock=lambda: clock[0])
    for alarm_id, status in (("L1", "closed"), ("L2", "open")):
        store.db.execute(
            "INSERT INTO alarms(id, number, status, area, unit, raised_by, raised_at, police_room, state, details,"
            " updated_at) VALUES (?, ?, ?, 'farsta', 'jour', '@p:x', ?, '!r', '', '', ?)",
            [alarm_id, int(alarm_id[1:]), status, clock[0], clock[0]],
        )
    store.record_event("$old", "!r", "@p:x", "command", 1, {"body": "!larm Farsta"})
    store.finish_event("$old", "handled")
    clock[0] += 400 * DAY
    store.record_event("$new", "!r", "@p:x", "command", 2, {"body": "!jour"})
    store.finish_event("$new", "handled")

    counts = purge(store, clock[0], 365)

    assert counts["alarms"] == 1 and counts["events"] == 1
    remaining = [r[0] for r in store.db.execute("SELECT id FROM alarms")]
    assert remaining == ["L2"]
    assert store.seen_event("$new") and not store.seen_event("$old")
    assert store.audit_entries(1)[0]["action"] == "retention.purged"
    assert store.verify_audit()[0]
