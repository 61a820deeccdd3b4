"""Our own sync position and, per room, the last timeline event seen.

nio's token is not used: nio saves it before its callbacks run, so a crash would skip a batch. Ours is written only
together with (or after) the events of the batches it passes. The room heads let gap filling stop where the bot had
already been instead of paging back through history.

Where instances share the database (bot/ha/), the token is each instance's own (`instance`, its device id): a /sync
token carries the device's to-device position, so one instance resuming from another's would miss the room keys sent
to its own device. The room heads are shared: they say how far any instance that acted had read.
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
        self._key = "sync_token"

    def of_instance(self, instance: str) -> None:
        """From now on the token read and saved is `instance`'s own (a device of several sharing the database)."""
        self._key = f"sync_token:{instance}"

    def token(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [self._key]).fetchone()
        return str(row[0]) if row else None

    def heads(self) -> dict[str, Head]:
        rows = self.db.execute("SELECT room_id, event_id, origin_ts FROM sync_heads").fetchall()
        return {r[0]: Head(r[1], int(r[2])) for r in rows}

    def save(self, token: str, heads: Mapping[str, Head]) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value", [self._key, token])
        self.db.executemany(
            "INSERT INTO sync_heads(room_id, event_id, origin_ts) VALUES (?, ?, ?) ON CONFLICT(room_id) DO UPDATE"
            " SET event_id = excluded.event_id, origin_ts = excluded.origin_ts",
            [(room, head.event_id, head.origin_ts) for room, head in heads.items()],
        )
