from __future__ import annotations

from bot.secretbox import SecretBox
from bot.store import Store
from bot.store.alarms import AlarmRow
from bot.store.retention import DAY


def test_old_finished_data_is_purged_open_alarms_kept_and_the_purge_audited(tmp_path):
    clock = [1_000_000_000.0]
    store = Store(tmp_path / "db", SecretBox("k"), clock=lambda: clock[0])
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
