"""Retention in both dialects (the `database` fixture): what is old and finished goes, the rest stays."""

from __future__ import annotations

from bot.store import Store
from bot.store.alarms import AlarmRow
from bot.store.retention import DAY
from bot.store.secretbox import SecretBox


def test_old_finished_data_is_purged_open_alarms_kept_and_the_purge_audited(tmp_path, database):
    clock = [1_000_000_000.0]
    store = Store(tmp_path / "db", SecretBox("k"), clock=lambda: clock[0], database=database)
    with store.transaction():
        for alarm_id, status in (("L1", "closed"), ("L2", "open")):
            store.alarms.insert(AlarmRow(alarm_id, int(alarm_id[1:]), status, "farsta", "jour", "@p:x", clock[0],
                                         "!r", {"v": 2}), "fritext")
        store.events.record("$old", "!r", "@p:x", "command", 1, {"body": "!larm Farsta"})
        store.events.finish("$old", "handled")
    clock[0] += 400 * DAY
    with store.transaction():
        store.events.record("$new", "!r", "@p:x", "command", 2, {"body": "!jour"})
        store.events.finish("$new", "handled")

    counts = store.retention.purge(clock[0], 365)

    assert counts["alarms"] == 1 and counts["events"] == 1
    assert store.alarms.state("L1") is None and store.alarms.state("L2") is not None
    assert store.events.seen("$new") and not store.events.seen("$old")
    assert store.audit.entries(1)[0]["action"] == "retention.purged"
    assert store.audit.verify()[0]
    store.close()


def test_old_check_ins_are_purged_and_a_planned_one_is_kept(tmp_path, database):
    clock = [1_000_000_000.0]
    store = Store(tmp_path / "db", SecretBox("k"), clock=lambda: clock[0], database=database)
    start = clock[0]
    with store.transaction():
        store.checkins.plan("jour:primary:old", "jour", "primary", start, start + 36000)
        store.checkins.asked("jour:primary:old", "@a:x", start, start + 1800)
        store.checkins.answered("jour:primary:old", start + 60)
        store.checkins.plan("jour:primary:later", "jour", "primary", start + 400 * DAY, start + 400 * DAY + 36000)
    clock[0] += 400 * DAY - 3600

    assert store.retention.purge(clock[0], 365)["checkins"] == 1
    assert store.checkins.get("jour:primary:old") is None
    assert store.checkins.get("jour:primary:later") is not None
    store.close()


def test_leave_made_in_the_browser_is_purged_once_old_and_over_and_kept_while_it_lasts(tmp_path, database):
    from datetime import UTC, datetime

    from rosters import Leave

    clock = [1_000_000_000.0]
    store = Store(tmp_path / "db", SecretBox("k"), clock=lambda: clock[0], database=database)
    made = datetime.fromtimestamp(clock[0], UTC)
    with store.transaction():
        store.leave.add(Leave("@a:x", made, datetime.fromtimestamp(clock[0] + 10 * DAY, UTC)), "@chef:x", made)
        store.leave.add(Leave("@b:x", made, datetime.fromtimestamp(clock[0] + 500 * DAY, UTC)), "@chef:x", made)
    clock[0] += 400 * DAY

    assert store.retention.purge(clock[0], 365)["leave_entries"] == 1
    assert [entry.user for entry in store.leave.active()] == ["@b:x"]
    store.close()
