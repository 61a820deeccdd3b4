"""Login without passwords: `!webb` gives a one-time link; using it starts a session held in an HttpOnly cookie.

Tokens are 256-bit random strings; the store keeps only their SHA-256, so a copy of the database opens nothing.
A CSRF token is derived from the session token (HMAC), so every form of one session carries the same token, a
page from another site cannot know it, and nothing more has to be stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.store import Store
from bot.store.web import Feed


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"jourbot-csrf", hashlib.sha256).hexdigest()


def csrf_ok(secret: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(csrf_for(secret), given)


@dataclass(frozen=True)
class AuthSettings:
    base_url: str  # where browsers reach the view, without a trailing slash
    link_ttl_s: int
    session_ttl_s: int


class WebAuth:
    def __init__(self, store: Store, clock: Callable[[], float], settings: AuthSettings,
                 direct_rooms: Callable[[], dict[str, str]] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self._direct_rooms = direct_rooms or store.direct_rooms.all

    # --- bot.core.desks.WebLogin -------------------------------------------------------------------------------
    @property
    def link_minutes(self) -> int:
        return max(1, self.settings.link_ttl_s // 60)

    def issue(self, user: str, now: datetime) -> str:
        """Called inside the command's transaction: the link exists once the message carrying it is queued."""
        token = new_token()
        at = now.timestamp()
        self.store.web.purge(at)  # spent links and sessions are kept no longer than it takes to refuse them
        self.store.web.add_link(digest(token), user, at, at + self.settings.link_ttl_s)
        return f"{self.settings.base_url}/login/{token}"

    def is_direct_room(self, room_id: str, user: str) -> bool:
        return self._direct_rooms().get(user) == room_id

    # --- the browser's side ---------------------------------------------------------------------------------------
    def link_user(self, token: str) -> str | None:
        return self.store.web.link_user(digest(token), self.clock())

    def log_in(self, token: str) -> tuple[str, str] | None:
        """Use a link: (user, session token), or None when it is unknown, used or expired."""
        now = self.clock()
        session = new_token()
        with self.store.transaction():  # the link is spent only together with the session it starts
            user = self.store.web.use_link(digest(token), now)
            if user is None:
                return None
            self.store.web.add_session(digest(session), user, now, now + self.settings.session_ttl_s)
            self.store.audit.append(user, "web.login")
        return user, session

    def session_user(self, session: str) -> str | None:
        return self.store.web.session_user(digest(session), self.clock()) if session else None

    def log_out(self, session: str) -> None:
        self.store.web.end_session(digest(session), self.clock())

    # --- calendar feeds -------------------------------------------------------------------------------------------
    def add_feed(self, kind: str, subject: str, by: str) -> tuple[Feed, str]:
        """A new feed and its URL; the URL is shown once, since only its hash is kept."""
        token = new_token()
        feed = Feed(f"K{digest(token)[:8].upper()}", kind, subject, by, self.clock())
        with self.store.transaction():
            self.store.web.add_feed(feed, digest(token))
            self.store.audit.append(by, "web.feed.added", feed.id, {"kind": kind, "subject": subject})
        return feed, f"{self.settings.base_url}/feed/{token}.ics"

    def feed(self, token: str) -> Feed | None:
        return self.store.web.feed(digest(token))

    def revoke_feed(self, feed_id: str, by: str) -> bool:
        with self.store.transaction():
            done = self.store.web.revoke_feed(feed_id, self.clock())
            if done:
                self.store.audit.append(by, "web.feed.revoked", feed_id)
        return done
