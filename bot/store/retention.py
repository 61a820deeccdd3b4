"""Data are kept no longer than `storage.retention_days`, then purged for real; the purge itself is recorded in the
audit trail.

"For real": the connection deletes with `secure_delete` (what is deleted is overwritten), and after the purge's
transaction the freed pages go back to the file system and the WAL is emptied and truncated (`Database.reclaim`), so
no copy of a purged alarm stays in free pages or in the WAL. The crypto store's room keys are the runtime's to drop
(`MatrixPort.drop_room_keys`, from bot/app.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.store.audit import Audit
from bot.store.db import Database

log = logging.getLogger(__name__)

DAY = 86400.0

# Open alarms are never purged, however old; the audit trail never is (it is how a purge is proven).
_STATEMENTS: dict[str, str] = {
    "alarms": "DELETE FROM alarms WHERE status IN ('closed', 'accepted', 'exhausted', 'cancelled')"
              " AND updated_at < :cutoff",
    "page_events": "DELETE FROM page_events WHERE alarm_id NOT IN (SELECT id FROM alarms)",
    "events": "DELETE FROM events WHERE status = 'done' AND received_at < :cutoff",
    "undecryptable": "DELETE FROM undecryptable WHERE status != 'waiting' AND first_seen < :cutoff",
    "outbox": "DELETE FROM outbox WHERE status IN ('sent', 'failed', 'dropped') AND created_at < :cutoff",
    "deadlines": "DELETE FROM deadlines WHERE alarm_id NOT IN (SELECT id FROM alarms)",
    "alarm_phases": "DELETE FROM alarm_phases WHERE alarm_id NOT IN (SELECT id FROM alarms)",
    "alarm_rooms": "DELETE FROM alarm_rooms WHERE alarm_id NOT IN (SELECT id FROM alarms)",
    "handovers": "DELETE FROM handovers WHERE alarm_id NOT IN (SELECT id FROM alarms)",
    "page_watch": "DELETE FROM page_watch WHERE alarm_id NOT IN (SELECT id FROM alarms)",
    "overrides": "DELETE FROM overrides WHERE created_at < :cutoff AND (removed_at IS NOT NULL OR end < :cutoff_iso)",
    "checkins": "DELETE FROM checkins WHERE at IS NULL AND shift_end < :cutoff",  # shift check-ins (i12-ready)
    # leave made in the browser (w-leave): removed or over, and older than the retention period
    "leave_entries": "DELETE FROM leave_entries WHERE created_at < :cutoff"
                     " AND (removed_at IS NOT NULL OR end < :cutoff_iso)",
    # The audit trail itself stays (it is how a purge is proven), but what its entries of purged alarms said that
    # the figures never need — a decision, a reason — goes; the MAC covers only its digest (bot/store/audit.py).
    # calendar feeds revoked or run out, and browser sessions ended, before the period
    "web_feeds": "DELETE FROM web_feeds WHERE revoked_at < :cutoff OR expires_at < :cutoff",
    "web_sessions": "DELETE FROM web_sessions WHERE expires_at < :cutoff OR ended_at < :cutoff",
    # roster snapshots no longer in force (the one in force is the roster the bot runs on; a replaced version was
    # overwritten when it was replaced)
    "roster_snapshots": "DELETE FROM roster_snapshots WHERE saved_at < :cutoff AND key != 'in_force'",
    "audit_private": "UPDATE audit SET private = NULL WHERE private IS NOT NULL AND at < :cutoff"
                     " AND subject NOT IN (SELECT id FROM alarms)",
}


class Retention:
    def __init__(self, db: Database, audit: Audit) -> None:
        self.db = db
        self.audit = audit

    def purge(self, now: float, days: int) -> dict[str, int]:
        """Delete what is older than `days` and audit the purge, in one transaction of its own."""
        cutoff = now - days * DAY
        params = {"cutoff": cutoff, "cutoff_iso": datetime.fromtimestamp(cutoff, UTC).isoformat()}
        counts: dict[str, int] = {}
        with self.db.transaction():
            for table, sql in _STATEMENTS.items():
                counts[table] = self.db.conn.execute(sql, params).rowcount
            self.audit.append("retention", "retention.purged", "", {"days": days, **counts})
        if not self.db.in_transaction and not self.db.reclaim():
            log.warning("retention: the WAL could not be emptied (a reader held it); it is emptied at the next purge")
        return counts
