"""Our own sync position and, per room, the last timeline event seen.

nio's token is not used: nio saves it before its callbacks run, so a crash would skip a batch. Ours is written only
together with (or after) the events of the batches it passes. The room heads let gap filling stop where the bot had
already been instead of paging back through history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.store.db import Database


@dataclass(frozen=True)
class Head:
    event_id: str
    origin_ts: int


class SyncPosition:
    def __init__(self, db: Database) -> None:
        self.db = db

    def token(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'sync_token'").fetchone()
        return str(row[0]) if row else None

    def heads(self) -> dict[str, Head]:
        rows = self.db.execute("SELECT room_id, event_id, origin_ts FROM sync_heads").fetchall()
        return {r[0]: Head(r[1], int(r[2])) for r in rows}

    def save(self, token: str, heads: Mapping[str, Head]) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES ('sync_token', ?)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value", [token])
        self.db.executemany(
            "INSERT INTO sync_heads(room_id, event_id, origin_ts) VALUES (?, ?, ?) ON CONFLICT(room_id) DO UPDATE"
            " SET event_id = excluded.event_id, origin_ts = excluded.origin_ts",
            [(room, head.event_id, head.origin_ts) for room, head in heads.items()],
        )
