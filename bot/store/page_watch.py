"""Pages as their readers saw them: when each page reached its person, when they read it (a read receipt), and
when an unseen page is due to go out by SMS. The table is the timer for that, swept with the escalation deadlines."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.db import Database, Topic


@dataclass(frozen=True)
class WatchedPage:
    event_id: str
    alarm_id: str
    user_id: str
    room_id: str
    delivered_at: float


class PageWatch:
    def __init__(self, db: Database) -> None:
        self.db = db

    def delivered(self, page: WatchedPage, unseen_due_at: float | None) -> None:
        self.db.execute(
            "INSERT INTO page_watch(event_id, alarm_id, user_id, room_id, delivered_at, unseen_due_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [page.event_id, page.alarm_id, page.user_id, page.room_id, page.delivered_at, unseen_due_at],
        )
        if unseen_due_at is not None:
            self.db.changed(Topic.PAGE_WATCH)

    def read_up_to(self, room_id: str, user_id: str, event_id: str, at: float) -> list[WatchedPage]:
        """`user_id` read `room_id` up to `event_id` at `at`: every page there not yet seen and not after that
        event is seen now. Returns the pages this made seen.

        A receipt marks a point in the room, not one message: a reader who opens the room after a follow-up
        message acknowledges that message, and the page before it with it. Where the event is one the bot sent,
        its send time places it; where it is not (the reader's own message), the receipt's time does. A stale
        receipt from before the page (the first sync after a start replays the current ones) marks nothing.
        """
        row = self.db.execute(
            "SELECT sent_at FROM outbox WHERE sent_event_id = ? AND status = 'sent'", [event_id]
        ).fetchone()
        upto = float(row[0]) if row and row[0] is not None else at
        rows = self.db.execute(
            "SELECT event_id, alarm_id, user_id, room_id, delivered_at FROM page_watch WHERE room_id = ?"
            " AND user_id = ? AND seen_at IS NULL AND (event_id = ? OR (delivered_at <= ? AND delivered_at <= ?))"
            " ORDER BY delivered_at",
            [room_id, user_id, event_id, upto, at],
        ).fetchall()
        pages = [WatchedPage(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows]
        for page in pages:
            self.db.execute("UPDATE page_watch SET seen_at = ? WHERE event_id = ?", [at, page.event_id])
        if pages:
            self.db.changed(Topic.PAGE_WATCH)
        return pages

    def seen(self, alarm_id: str) -> dict[str, float]:
        """user → when they first read a page of `alarm_id`."""
        rows = self.db.execute(
            "SELECT user_id, MIN(seen_at) FROM page_watch WHERE alarm_id = ? AND seen_at IS NOT NULL"
            " GROUP BY user_id", [alarm_id]
        ).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    def unseen_due(self, now: float) -> list[WatchedPage]:
        rows = self.db.execute(
            "SELECT event_id, alarm_id, user_id, room_id, delivered_at FROM page_watch WHERE seen_at IS NULL"
            " AND unseen_due_at IS NOT NULL AND unseen_due_at <= ? ORDER BY unseen_due_at", [now]
        ).fetchall()
        return [WatchedPage(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows]

    def unseen_handled(self, event_id: str) -> None:
        self.db.execute("UPDATE page_watch SET unseen_due_at = NULL WHERE event_id = ?", [event_id])
        self.db.changed(Topic.PAGE_WATCH)

    def next_unseen_due(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(unseen_due_at) FROM page_watch WHERE seen_at IS NULL AND unseen_due_at IS NOT NULL"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])
