"""The readiness page: the same findings as `jourbot roster ready` and the daily report (bot/readiness/assess.py),
asked of the homeserver when a supervisor opens the page.

Why on demand rather than the daily report's result: the report keeps no findings (it sends them and audits counts),
and a supervisor who just asked someone to log in wants to see it fixed now, not tomorrow at 09:00. The lookups are
read-only and take a moment for a city's week, so:
- a page waits at most `timeout_s` for them, then says the homeserver could not be asked; the lookup goes on, and
  its answer is there when the page is opened again;
- one lookup at a time: pages opened while one runs wait for that one;
- an answer is kept for `fresh_s`, so reloading the page does not ask again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.matrix.reachability import Reach, ReachabilityError
from bot.readiness.assess import Finding, Trust, assess, on_rosters
from bot.store import Store
from rosters import Roster

log = logging.getLogger(__name__)

Probe = Callable[[Mapping[str, str | None]], Awaitable[dict[str, Reach]]]
TIMEOUT_S = 10.0
FRESH_S = 60.0


@dataclass(frozen=True)
class Readiness:
    checked_at: datetime  # when the homeserver answered (or was last tried)
    start: datetime
    days: int
    findings: tuple[Finding, ...]  # empty when the homeserver could not be asked
    asked: bool  # False: the homeserver could not be asked (down, slow, or the bot never logged in)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.problems]

    @property
    def fine(self) -> list[Finding]:
        return [f for f in self.findings if not f.problems]


class ReadinessPage:
    def __init__(self, store: Store, roster: Callable[[], Roster], probe: Probe, days: int, trust: Trust,
                 lang: str, clock: Callable[[], float], sms: bool = False) -> None:
        self.sms = sms  # with the SMS channel on, a person without a phone number is a problem too
        self.store = store
        self.roster = roster
        self.probe = probe
        self.days = days
        self.trust = trust
        self.lang = lang
        self.clock = clock
        self.timeout_s = TIMEOUT_S
        self.fresh_s = FRESH_S
        self._last: Readiness | None = None
        self._task: asyncio.Task[Readiness] | None = None

    async def current(self) -> Readiness:
        now = self.clock()
        last = self._last
        if last is not None and last.asked and now - last.checked_at.timestamp() < self.fresh_s:
            return last
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._check(now), name="readiness page")
        try:
            # shielded: a page that stops waiting leaves the lookup running for the next one
            return await asyncio.wait_for(asyncio.shield(self._task), self.timeout_s)
        except TimeoutError:
            log.warning("readiness page: the homeserver did not answer within %.0f s", self.timeout_s)
            return Readiness(datetime.fromtimestamp(now, UTC), datetime.fromtimestamp(now, UTC), self.days, (),
                             asked=False)

    def known(self) -> Readiness | None:
        """The last answer the homeserver gave, however old, without asking again: for pages that must not wait on
        it (Nu, Kontroll), which then agree with Beredskap instead of saying all is well beside it."""
        return self._last if self._last is not None and self._last.asked else None

    async def stop(self) -> None:
        """A lookup still running when the bot stops is abandoned: nothing waits for it."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _check(self, now: float) -> Readiness:
        roster = self.roster()
        start = datetime.fromtimestamp(now, UTC)
        people = on_rosters(roster, self.store.overrides.active(), start, self.days)
        rooms = self.store.direct_rooms.all()
        last = {p.user: self.store.checkins.last_asked(p.user, now) for p in people}
        try:
            facts = await self.probe({p.user: rooms.get(p.user) for p in people})
        except ReachabilityError as err:
            log.error("readiness page: could not ask the homeserver: %s", err)
            return Readiness(start, start, self.days, (), asked=False)
        except Exception:  # a page must say it could not ask, not fail
            log.exception("readiness page: the homeserver lookup failed")
            return Readiness(start, start, self.days, (), asked=False)
        findings = assess(people, facts, rooms, last, self.trust, self.lang, roster.default_zone,
                          roster.phone if self.sms else None,
                          identity_changed={p.user_id for p in self.store.identities.changed()})
        done = Readiness(datetime.fromtimestamp(self.clock(), UTC), start, self.days, tuple(findings), asked=True)
        self._last = done
        return done
