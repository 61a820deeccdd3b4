"""The encrypted direct room the bot uses for each person."""

from __future__ import annotations

from collections.abc import Callable

from bot.store.db import Database


class DirectRooms:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    def get(self, user_id: str) -> str | None:
        row = self.db.execute("SELECT room_id FROM direct_rooms WHERE user_id = ?", [user_id]).fetchone()
        return str(row[0]) if row else None

    def created_at(self, user_id: str) -> float | None:
        row = self.db.execute("SELECT created_at FROM direct_rooms WHERE user_id = ?", [user_id]).fetchone()
        return float(row[0]) if row else None

    def user_of(self, room_id: str) -> str | None:
        """Whose direct room `room_id` is (None: not one in use)."""
        row = self.db.execute("SELECT user_id FROM direct_rooms WHERE room_id = ?", [room_id]).fetchone()
        return str(row[0]) if row else None

    def all(self) -> dict[str, str]:
        """user → their direct room."""
        return {str(r[0]): str(r[1]) for r in self.db.execute("SELECT user_id, room_id FROM direct_rooms").fetchall()}

    def set(self, user_id: str, room_id: str) -> None:
        self.db.execute(
            "INSERT INTO direct_rooms(user_id, room_id, created_at) VALUES (?, ?, ?) ON CONFLICT(user_id)"
            " DO UPDATE SET room_id = excluded.room_id, created_at = excluded.created_at",
            [user_id, room_id, self.clock()],
        )
