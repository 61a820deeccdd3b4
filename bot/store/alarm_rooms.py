"""The encrypted room the bot opens for each accepted alarm, where the officer and the responder coordinate. Only the
room's id and its life are kept: what is said there never reaches the bot's store."""

from __future__ import annotations

from collections.abc import Callable

from bot.store.db import Database


class AlarmRooms:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    def set(self, alarm_id: str, room_id: str) -> None:
        self.db.execute(
            "INSERT INTO alarm_rooms(alarm_id, room_id, created_at, closed_at) VALUES (?, ?, ?, NULL)"
            " ON CONFLICT(alarm_id) DO UPDATE SET room_id = excluded.room_id, created_at = excluded.created_at,"
            " closed_at = NULL",
            [alarm_id, room_id, self.clock()],
        )

    def set_relay(self, alarm_id: str) -> None:
        """No room could be made: the alarm's officer and acceptor write through the bot (an empty room id)."""
        self.set(alarm_id, "")

    def state(self, alarm_id: str) -> tuple[str, bool] | None:
        """(room id, still open) of the alarm's room; the id is empty while relaying; None before it is made."""
        row = self.db.execute("SELECT room_id, closed_at FROM alarm_rooms WHERE alarm_id = ?", [alarm_id]).fetchone()
        return None if row is None else (str(row[0]), row[1] is None)

    def room_of(self, alarm_id: str) -> str | None:
        """The alarm's room while it is open."""
        row = self.db.execute(
            "SELECT room_id FROM alarm_rooms WHERE alarm_id = ? AND closed_at IS NULL AND room_id != ''", [alarm_id]
        ).fetchone()
        return str(row[0]) if row else None

    def alarm_of(self, room_id: str) -> str | None:
        """The alarm whose room `room_id` is, open or closed (a late command in a closed room still finds it)."""
        row = self.db.execute(
            "SELECT alarm_id FROM alarm_rooms WHERE room_id = ? AND room_id != ''", [room_id]
        ).fetchone()
        return str(row[0]) if row else None

    def alarm_of_open_room(self, room_id: str) -> str | None:
        """The alarm whose room `room_id` is, while that room is open."""
        row = self.db.execute(
            "SELECT alarm_id FROM alarm_rooms WHERE room_id = ? AND room_id != '' AND closed_at IS NULL", [room_id]
        ).fetchone()
        return str(row[0]) if row else None

    def close(self, alarm_id: str) -> None:
        self.db.execute(
            "UPDATE alarm_rooms SET closed_at = ? WHERE alarm_id = ? AND closed_at IS NULL", [self.clock(), alarm_id]
        )
