"""Pinned cross-signing identities (each person's master key as first seen), the devices seen under them, and the
extra people the bot let into a room it owns (a supervisor who asked to join an alarm room)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.db import Database, Topic


@dataclass(frozen=True)
class Pin:
    user_id: str
    master_key: str  # as first seen, or as a supervisor last confirmed it
    pinned_at: float
    seen_key: str | None  # a different key listed since ("" when the identity is gone altogether); None: unchanged
    changed_at: float | None

    @property
    def changed(self) -> bool:
        return self.seen_key is not None


class Identities:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, user_id: str) -> Pin | None:
        row = self.db.execute(
            "SELECT user_id, master_key, pinned_at, seen_key, changed_at FROM identities WHERE user_id = ?", [user_id]
        ).fetchone()
        return None if row is None else Pin(str(row[0]), str(row[1]), float(row[2]),
                                            None if row[3] is None else str(row[3]),
                                            None if row[4] is None else float(row[4]))

    def pin(self, user_id: str, master_key: str, at: float) -> None:
        self.db.execute(
            "INSERT INTO identities(user_id, master_key, pinned_at, seen_key, changed_at)"
            " VALUES (?, ?, ?, NULL, NULL) ON CONFLICT(user_id) DO UPDATE SET master_key = excluded.master_key,"
            " pinned_at = excluded.pinned_at, seen_key = NULL, changed_at = NULL", [user_id, master_key, at])
        self.db.changed(Topic.IDENTITIES)

    def forget(self, user_id: str) -> None:
        self.db.execute("DELETE FROM identities WHERE user_id = ?", [user_id])
        self.db.changed(Topic.IDENTITIES)

    def mark_changed(self, user_id: str, seen_key: str, at: float) -> None:
        self.db.execute("UPDATE identities SET seen_key = ?, changed_at = ? WHERE user_id = ?",
                        [seen_key, at, user_id])
        self.db.changed(Topic.IDENTITIES)

    def changed(self) -> list[Pin]:
        """Everyone whose identity changed and is not yet confirmed, longest waiting first."""
        rows = self.db.execute(
            "SELECT user_id, master_key, pinned_at, seen_key, changed_at FROM identities"
            " WHERE seen_key IS NOT NULL ORDER BY changed_at"
        ).fetchall()
        return [Pin(str(r[0]), str(r[1]), float(r[2]), str(r[3]), float(r[4])) for r in rows]

    # --- devices seen -----------------------------------------------------------------------------------------------
    def note_devices(self, user_id: str, device_ids: list[str], at: float) -> list[str]:
        """Remember `user_id`'s devices; returns those never seen before. The devices of someone seen for the first
        time are where the bot starts from, not news: they are kept as already reported."""
        baseline = self.db.execute("SELECT 1 FROM known_devices WHERE user_id = ? LIMIT 1",
                                   [user_id]).fetchone() is None
        new: list[str] = []
        for device_id in device_ids:
            cur = self.db.execute(
                "INSERT INTO known_devices(user_id, device_id, first_seen, reported_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [user_id, device_id, at, at if baseline else None])
            if cur.rowcount == 1 and not baseline:
                new.append(device_id)
        return new

    def known_devices(self) -> set[tuple[str, str]]:
        rows = self.db.execute("SELECT user_id, device_id FROM known_devices").fetchall()
        return {(str(r[0]), str(r[1])) for r in rows}

    def unreported_devices(self) -> list[tuple[str, str, float]]:
        """(user, device, first seen) of devices that appeared since the last report, oldest first."""
        rows = self.db.execute(
            "SELECT user_id, device_id, first_seen FROM known_devices WHERE reported_at IS NULL"
            " ORDER BY first_seen, user_id, device_id"
        ).fetchall()
        return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    def mark_reported(self, at: float) -> None:
        self.db.execute("UPDATE known_devices SET reported_at = ? WHERE reported_at IS NULL", [at])

    # --- who else the bot let into a room of its own ------------------------------------------------------------------
    def admit(self, room_id: str, user_id: str, at: float) -> None:
        self.db.execute("INSERT INTO room_audience(room_id, user_id, added_at) VALUES (?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        [room_id, user_id, at])

    def admitted(self, room_id: str) -> frozenset[str]:
        rows = self.db.execute("SELECT user_id FROM room_audience WHERE room_id = ?", [room_id]).fetchall()
        return frozenset(str(r[0]) for r in rows)
