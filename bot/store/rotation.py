"""`jourbot keys rotate-data`: every sealed field opened with the old data key and sealed anew under the new one, in
one transaction — a crash leaves all of them under the old key, never some under each."""

from __future__ import annotations

from bot.store.db import Database
from bot.store.secretbox import SecretBox

# Each sealed column: how its rows are read (key, sealed value) and written back, and the context its field is bound
# to (see each repository).
SEALED: tuple[tuple[str, str, str, str], ...] = (
    ("alarms.details", "SELECT id, details FROM alarms WHERE details IS NOT NULL",
     "UPDATE alarms SET details = ? WHERE id = ?", "details:{}"),
    ("alarms.state", "SELECT id, state FROM alarms WHERE state IS NOT NULL",
     "UPDATE alarms SET state = ? WHERE id = ?", "state:{}"),
    ("events.payload", "SELECT event_id, payload FROM events WHERE payload IS NOT NULL",
     "UPDATE events SET payload = ? WHERE event_id = ?", "{}"),
    ("outbox.content", "SELECT txn_id, content FROM outbox WHERE content IS NOT NULL",
     "UPDATE outbox SET content = ? WHERE txn_id = ?", "{}"),
    ("cross_signing_keys.sealed", "SELECT user_id, sealed FROM cross_signing_keys",
     "UPDATE cross_signing_keys SET sealed = ? WHERE user_id = ?", "cross-signing:{}"),
)


def reseal(db: Database, old: SecretBox, new: SecretBox) -> dict[str, int]:
    """Re-seal every sealed field; call inside a transaction. The count per table and column."""
    counts: dict[str, int] = {}
    for name, select, update, context in SEALED:
        rows = db.execute(select).fetchall()
        fresh = [(new.seal(old.open(value, context.format(ident)), context.format(ident)), ident)
                 for ident, value in rows]
        db.executemany(update, fresh)
        counts[name] = len(fresh)
    return counts
