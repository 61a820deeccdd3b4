"""`jourbot keys rotate-data`: every sealed field opened with the old data key and sealed anew under the new one, in
one transaction — a crash leaves all of them under the old key, never some under each."""

from __future__ import annotations

from bot.store.db import Database
from bot.store.secretbox import SecretBox

# table, its key column, the sealed column, and the context the field is bound to (see each repository).
SEALED: tuple[tuple[str, str, str, str], ...] = (
    ("alarms", "id", "details", "details:{}"),
    ("alarms", "id", "state", "state:{}"),
    ("events", "event_id", "payload", "{}"),
    ("outbox", "txn_id", "content", "{}"),
)


def reseal(db: Database, old: SecretBox, new: SecretBox) -> dict[str, int]:
    """Re-seal every sealed field; call inside a transaction. The count per table and column."""
    counts: dict[str, int] = {}
    for table, key, column, context in SEALED:
        rows = db.execute(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
        fresh = [(new.seal(old.open(value, context.format(ident)), context.format(ident)), ident)
                 for ident, value in rows]
        db.executemany(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", fresh)
        counts[f"{table}.{column}"] = len(fresh)
    return counts
