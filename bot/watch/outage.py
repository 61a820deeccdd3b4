"""After an outage, each police room is told once when the bot could not be reached, and that what was sent
meanwhile has been handled.

Two outages count: the bot's own (stopped or crashed: the store keeps when it was last alive, written every half
minute and at a clean stop) and its homeserver's (syncs failing, from the last good sync until the homeserver
answers again). Either must have lasted `notice_after_s`: a restart for a deploy or a blip of the network is not
news. The line goes out after the first sync batch that follows, once that batch's commands (what the police sent
meanwhile) have been handled; the store remembers each outage told, so a restart does not tell it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo

from bot.channels.outbox import Origin, Outbox
from bot.core.effects import SendRoom
from bot.core.i18n import moment, t
from bot.store import Store
from rosters.wallclock import hhmm

log = logging.getLogger(__name__)

ALIVE_KEY = "alive_at"


class OutageNotice:
    def __init__(self, store: Store, outbox: Outbox, police_rooms: Sequence[str], lang: str,
                 clock: Callable[[], float], zone: Callable[[], tzinfo], notice_after_s: float) -> None:
        self.store = store
        self.outbox = outbox
        self.police_rooms = tuple(police_rooms)
        self.lang = lang
        self.clock = clock
        self.zone = zone
        self.notice_after_s = notice_after_s
        self._due: tuple[str, float, float] | None = None  # (what was down, since, until), told after the next batch
        self._last_batch_at: float | None = None

    def started(self) -> None:
        """At start, before the first sync: was the bot itself down for long?"""
        now = self.clock()
        raw = self.store.meta.get(ALIVE_KEY)
        if raw is not None and now - float(raw) >= self.notice_after_s:
            self._due = ("bot", float(raw), now)

    def alive(self) -> None:
        """Every half minute, and at a clean stop: the last instant the bot is known to have been working."""
        with self.store.transaction():
            self.store.meta.set(ALIVE_KEY, repr(self.clock()))

    def homeserver_back(self) -> None:
        """The homeserver answers again after failed syncs: down since the last batch the bot had."""
        now = self.clock()
        since = self._last_batch_at
        if since is not None and now - since >= self.notice_after_s and self._due is None:
            self._due = ("homeserver", since, now)

    def after_batch(self) -> None:
        """A batch has been handled: if an outage is due to be told, what came in meanwhile is handled now."""
        if self._last_batch_at is None:
            self.alive()  # working again: only now, so a bot that fails at every start stays "down" from before
        self._last_batch_at = self.clock()
        if self._due is None:
            return
        what, since, until = self._due
        self._due = None
        key = f"outage-told:{what}:{since!r}"
        key_text = "runtime.outage.bot" if what == "bot" else "runtime.outage.homeserver"
        text = t(key_text, self.lang, since=self._when(since, until), until=self._when(until, until))
        with self.store.transaction():
            if not self.store.meta.set_once(key, repr(until)):
                return
            self.outbox.queue([SendRoom(room, text) for room in self.police_rooms], Origin(key))
        log.warning("%s was down for %.0f s; police rooms told", what, until - since)

    def _when(self, at: float, until: float) -> str:
        zone = self.zone()
        instant = datetime.fromtimestamp(at, UTC)
        if instant.astimezone(zone).date() == datetime.fromtimestamp(until, UTC).astimezone(zone).date():
            return hhmm(instant, zone)
        return moment(instant.astimezone(zone), self.lang, weekday=False)
