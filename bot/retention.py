"""Data are kept no longer than `storage.retention_days`; the purge itself is recorded in the audit trail."""

from __future__ import annotations

from bot.store import Store

DAY = 86400


def purge(store: Store, now: float, days: int) -> dict[str, int]:
    """Delete what is older than `days`: finished alarms, handled events, sent messages, old overrides.

    Open alarms are never purged, however old. Call outside any transaction; one transaction is opened here.
    """
    cutoff = now - days * DAY
    statements = {
        "alarms": ("DELETE FROM alarms WHERE status IN ('closed', 'accepted', 'exhausted') AND updated_at < ?"),
        "page_events": "DELETE FROM page_events WHERE alarm_id NOT IN (SELECT id FROM alarms)",
        "events": "DELETE FROM events WHERE status = 'done' AND received_at < ?",
        "undecryptable": "DELETE FROM undecryptable WHERE status != 'waiting' AND first_seen < ?",
        "outbox": "DELETE FROM outbox WHERE status = 'sent' AND sent_at < ?",
        "deadlines": "DELETE FROM deadlines WHERE alarm_id NOT IN (SELECT id FROM alarms)",
        "overrides": "DELETE FROM overrides WHERE created_at < ? AND (removed_at IS NOT NULL OR end < ?)",
    }
    counts: dict[str, int] = {}
    with store.transaction():
        for table, sql in statements.items():
            params: list[object] = []
            if sql.count("?") == 1:
                params = [cutoff]
            elif table == "overrides":
                params = [cutoff, _iso(cutoff)]
            counts[table] = store.db.execute(sql, params).rowcount
        store.audit("retention", "retention.purged", "", {"days": days, **counts})
    return counts


def _iso(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat()
