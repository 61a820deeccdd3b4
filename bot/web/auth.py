"""Login without passwords: `!webb` gives a one-time link; using it starts a session held in an HttpOnly cookie.

Tokens are 256-bit random strings; the store keeps only their SHA-256, so a copy of the database opens nothing.
A CSRF token is derived from the session token (HMAC), so every form of one session carries the same token, a
page from another site cannot know it, and nothing more has to be stored. The login form's own token is derived from
a random value in a pre-login cookie set with the form: a page from another site cannot log a browser in with a link
of its own (login CSRF), since it can neither read nor set that cookie.

A session ends at logout, after `session_ttl_s`, or after `idle_s` unused. `POST /login` is limited per address
(`LoginLimiter`), and a token that is unknown, used or run out is answered without writing anything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
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


def login_csrf(nonce: str, token: str) -> str:
    """The login form's CSRF token: bound to the pre-login cookie's random `nonce` and to the link's token."""
    return hmac.new(nonce.encode(), b"jourbot-login:" + token.encode(), hashlib.sha256).hexdigest()


def login_csrf_ok(nonce: str, token: str, given: str) -> bool:
    return bool(nonce) and bool(given) and hmac.compare_digest(login_csrf(nonce, token), given)


class LoginLimiter:
    """At most `count` login attempts per address in `window_s` seconds; beyond that, refused without a look at the
    store. Kept in memory, for at most `max_addresses` addresses (the oldest forgotten first)."""

    def __init__(self, count: int = 10, window_s: float = 60.0, max_addresses: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.window_s = window_s
        self.max_addresses = max_addresses
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str) -> bool:
        now = self.clock()
        seen = self._seen.pop(address, None) or deque()
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        allowed = len(seen) < self.count
        if allowed:
            seen.append(now)
        self._seen[address] = seen  # re-inserted: the most recent address last
        while len(self._seen) > self.max_addresses:
            del self._seen[next(iter(self._seen))]
        return allowed

    def retry_after(self, address: str) -> int:
        seen = self._seen.get(address)
        return max(1, int(seen[0] + self.window_s - self.clock()) + 1) if seen else 1


@dataclass(frozen=True)
class AuthSettings:
    base_url: str  # where browsers reach the view, without a trailing slash
    link_ttl_s: int
    session_ttl_s: int
    idle_s: int = 1800  # a session unused this long has ended
    feed_days: int = 365  # a calendar feed works this long


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
        """Use a link: (user, session token), or None when it is unknown, used or expired — then without a write."""
        now = self.clock()
        if self.link_user(token) is None:
            return None
        session = new_token()
        with self.store.transaction():  # the link is spent only together with the session it starts
            user = self.store.web.use_link(digest(token), now)
            if user is None:
                return None
            self.store.web.add_session(digest(session), user, now, now + self.settings.session_ttl_s)
            self.store.audit.append(user, "web.login")
        return user, session

    def session_user(self, session: str) -> str | None:
        """Whose session this is, if it is still on; its last use is noted (at most once a minute)."""
        if not session:
            return None
        now = self.clock()
        found = self.store.web.session(digest(session), now, now - self.settings.idle_s)
        if found is None:
            return None
        user, last_seen = found
        if now - last_seen >= 60:
            with self.store.transaction():
                self.store.web.touch_session(digest(session), now)
        return user

    def log_out(self, session: str) -> None:
        self.store.web.end_session(digest(session), self.clock())

    # --- calendar feeds -------------------------------------------------------------------------------------------
    def add_feed(self, kind: str, subject: str, by: str) -> tuple[Feed, str]:
        """A new feed and its URL; the URL is shown once, since only its hash is kept."""
        token = new_token()
        now = self.clock()
        feed = Feed(f"K{digest(token)[:8].upper()}", kind, subject, by, now, now + self.settings.feed_days * 86400)
        with self.store.transaction():
            self.store.web.add_feed(feed, digest(token))
            self.store.audit.append(by, "web.feed.added", feed.id, {"kind": kind, "subject": subject})
        return feed, f"{self.settings.base_url}/feed/{token}.ics"

    def feed(self, token: str) -> Feed | None:
        return self.store.web.feed(digest(token), self.clock())

    def feeds(self) -> list[Feed]:
        return self.store.web.feeds(self.clock())

    def revoke_feed(self, feed_id: str, by: str) -> bool:
        with self.store.transaction():
            done = self.store.web.revoke_feed(feed_id, self.clock())
            if done:
                self.store.audit.append(by, "web.feed.revoked", feed_id)
        return done
