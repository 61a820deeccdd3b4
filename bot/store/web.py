"""The browser view's secrets: one-time login links, sessions and calendar feeds.

Only a hash of each token is stored: a copy of the database lets nobody log in or read a calendar.
The raw tokens exist in the link sent to the person, in their browser's cookie and in their calendar app.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.db import Database


@dataclass(frozen=True)
class Feed:
    id: str
    kind: str  # "person" | "unit"
    subject: str  # a Matrix user id or a unit id
    created_by: str
    created_at: float
    expires_at: float


class WebAccess:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- one-time links ------------------------------------------------------------------------------------------
    def add_link(self, token_hash: str, user: str, now: float, expires_at: float) -> None:
        self.db.execute(
            "INSERT INTO web_links(token_hash, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, NULL)",
            [token_hash, user, now, expires_at],
        )

    def link_user(self, token_hash: str, now: float) -> str | None:
        """Whose link this is, if it is still unused and unexpired (without using it)."""
        row = self.db.execute(
            "SELECT user_id FROM web_links WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
            [token_hash, now],
        ).fetchone()
        return str(row[0]) if row else None

    def use_link(self, token_hash: str, now: float) -> str | None:
        """Use the link once: its user, or None if it is unknown, used or expired. Two uses at once: one wins."""
        with self.db.transaction():
            user = self.link_user(token_hash, now)
            if user is None:
                return None
            self.db.execute("UPDATE web_links SET used_at = ? WHERE token_hash = ?", [now, token_hash])
        return user

    # --- sessions ------------------------------------------------------------------------------------------------
    def add_session(self, token_hash: str, user: str, now: float, expires_at: float) -> None:
        self.db.execute(
            "INSERT INTO web_sessions(token_hash, user_id, created_at, expires_at, ended_at, last_seen_at)"
            " VALUES (?, ?, ?, ?, NULL, ?)",
            [token_hash, user, now, expires_at, now],
        )

    def session(self, token_hash: str, now: float, idle_since: float) -> tuple[str, float] | None:
        """(user, last used) of a session neither ended, run out, nor unused since before `idle_since`."""
        row = self.db.execute(
            "SELECT user_id, last_seen_at FROM web_sessions WHERE token_hash = ? AND ended_at IS NULL"
            " AND expires_at > ? AND last_seen_at > ?",
            [token_hash, now, idle_since],
        ).fetchone()
        return (str(row[0]), float(row[1])) if row else None

    def touch_session(self, token_hash: str, now: float) -> None:
        self.db.execute("UPDATE web_sessions SET last_seen_at = ? WHERE token_hash = ?", [now, token_hash])

    def end_session(self, token_hash: str, now: float) -> None:
        self.db.execute("UPDATE web_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                        [now, token_hash])

    def purge(self, now: float) -> None:
        """Forget links and sessions that can no longer be used."""
        self.db.execute("DELETE FROM web_links WHERE expires_at <= ? OR used_at IS NOT NULL", [now])
        self.db.execute("DELETE FROM web_sessions WHERE expires_at <= ? OR ended_at IS NOT NULL", [now])

    # --- calendar feeds ------------------------------------------------------------------------------------------
    def add_feed(self, feed: Feed, token_hash: str) -> None:
        self.db.execute(
            "INSERT INTO web_feeds(id, token_hash, kind, subject, created_by, created_at, revoked_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            [feed.id, token_hash, feed.kind, feed.subject, feed.created_by, feed.created_at, feed.expires_at],
        )

    def feed(self, token_hash: str, now: float) -> Feed | None:
        row = self.db.execute(
            "SELECT id, kind, subject, created_by, created_at, expires_at FROM web_feeds"
            " WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?",
            [token_hash, now],
        ).fetchone()
        return Feed(*row) if row else None

    def feeds(self, now: float) -> list[Feed]:
        """Every feed neither revoked nor run out, oldest first."""
        rows = self.db.execute(
            "SELECT id, kind, subject, created_by, created_at, expires_at FROM web_feeds WHERE revoked_at IS NULL"
            " AND expires_at > ? ORDER BY created_at",
            [now],
        ).fetchall()
        return [Feed(*r) for r in rows]

    def revoke_feed(self, feed_id: str, now: float) -> bool:
        cur = self.db.execute("UPDATE web_feeds SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                              [now, feed_id])
        return cur.rowcount == 1
