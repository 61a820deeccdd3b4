"""The daily readiness report: at `readiness.report_at` (local time) every supervisor is told who on their units'
coming week cannot be reached, and what to do about it. Nothing is sent when everyone can be reached.

The store is the timer: the next report's instant is kept in the store (meta), so a restart neither skips nor repeats
a day, and a report due while the bot was down is made at start. The homeserver is asked in a task of its own, so a
slow homeserver never holds up the sweep of escalation deadlines.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, time, timedelta

from bot.channels.outbox import Origin, Outbox
from bot.config import Config
from bot.core.effects import Effect, SendUser
from bot.core.i18n import moment, t
from bot.matrix.reachability import Reach, ReachabilityError, reach, saved_session
from bot.readiness.assess import Finding, assess, on_rosters, report_text
from bot.store import Store
from bot.store.db import Topic
from rosters import Roster
from rosters.wallclock import handoff_instant

log = logging.getLogger(__name__)

NEXT_KEY = "readiness.next_report_at"
# The last report's count of people who cannot surely be reached, for /metrics (bot/watch/figures.py): kept in the
# store, so a restart does not reset it to "all well" until the next day's report.
ASSESSED_KEY = "readiness.last_assessment"
Probe = Callable[[Mapping[str, str | None]], Awaitable[dict[str, Reach]]]


class ReadinessReporter:
    def __init__(self, store: Store, roster: Callable[[], Roster], config: Config, outbox: Outbox) -> None:
        self.store = store
        self.roster = roster
        self.config = config
        self.outbox = outbox
        self.probe: Probe = self._ask_homeserver  # tests put a stand-in here
        self.task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.config.readiness.report_at)

    def next_at(self) -> float | None:
        value = self.store.meta.get(NEXT_KEY) if self.enabled else None
        return None if value is None else float(value)

    def schedule(self, now: float) -> None:
        """Set the first report's instant, once (the sweep calls this; later ones are set as each is made)."""
        if self.enabled and self.store.meta.get(NEXT_KEY) is None:
            with self.store.transaction():
                self._set_next(now)

    def due(self, now: float) -> bool:
        found = self.next_at()
        return found is not None and found <= now

    def sweep(self, now: float) -> None:
        """When due, move to the next day's instant and, once that is committed, start the report: a failed commit
        must not send today's report twice."""
        if not self.due(now):
            return
        with self.store.transaction():
            self._set_next(now)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.report(now), name="readiness report")

    def _set_next(self, now: float) -> None:
        hour, minute = (int(p) for p in self.config.readiness.report_at.split(":"))
        zone = self.roster().default_zone
        day = datetime.fromtimestamp(now, zone).date()
        at = handoff_instant(day, time(hour, minute), zone)
        while at <= now:
            day += timedelta(days=1)
            at = handoff_instant(day, time(hour, minute), zone)
        self.store.meta.set(NEXT_KEY, repr(float(at)))
        self.store.db.changed(Topic.REPORTS)  # the timers wake for it

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def report(self, now: float) -> None:
        try:
            await self._report(now)
        except asyncio.CancelledError:
            raise
        except Exception:  # tomorrow's report must still come
            log.exception("the daily readiness report failed")

    async def _report(self, now: float) -> None:
        self._new_devices(now)
        roster = self.roster()
        days = self.config.readiness.days
        start = datetime.fromtimestamp(now, UTC)
        people = on_rosters(roster, self.store.overrides.active(), start, days)
        rooms = self.store.direct_rooms.all()
        last = {p.user: self.store.checkins.last_asked(p.user, now) for p in people}
        try:
            facts = await self.probe({p.user: rooms.get(p.user) for p in people})
        except ReachabilityError as err:
            log.error("the daily readiness check could not ask the homeserver: %s", err)
            return
        lang = self.config.bot.language
        findings = assess(people, facts, rooms, last, self.config.matrix.trust, lang, roster.default_zone,
                          roster.phone if self.config.sms.enabled else None,
                          identity_changed={p.user_id for p in self.store.identities.changed()})
        bad = [f for f in findings if f.problems]
        log.info("readiness: %d people on the rosters, %d cannot surely be reached", len(findings), len(bad))
        with self.store.transaction():
            self.store.meta.set(ASSESSED_KEY, json.dumps({"at": now, "people": len(findings), "problems": len(bad)}))
        if not bad:
            return
        effects: list[Effect] = []
        for supervisor, theirs in self._per_supervisor(findings, roster).items():
            if any(f.problems for f in theirs):
                effects.append(SendUser(supervisor, report_text(theirs, roster, start, days, lang)))
        with self.store.transaction():
            self.outbox.queue(effects, Origin(f"readiness:{now!r}"))
            self.store.audit.append(self.config.matrix.user_id, "readiness.reported", "",
                                    {"people": len(findings), "problems": len(bad),
                                     "told": [e.user_id for e in effects if isinstance(e, SendUser)]})

    def _new_devices(self, now: float) -> None:
        """Under `tofu` the bot gives room keys to any device a person's account lists, signed by its owner or not; a
        new one may be someone else's. Each is named once to every supervisor, who can ask the person about it."""
        if self.config.matrix.trust != "tofu":
            return
        found = self.store.identities.unreported_devices()
        if not found:
            return
        roster = self.roster()
        lang = self.config.bot.language
        zone = roster.default_zone
        lines = [t("trust.new_devices_head", lang, count=len(found))]
        lines += [t("trust.new_device", lang, name=roster.people.get(user, user), user=user, device=device,
                    when=moment(datetime.fromtimestamp(at, zone), lang)) for user, device, at in found]
        text = "\n".join(lines)
        supervisors = {s for unit in roster.units.values() for s in unit.supervisors} | set(
            self.config.roles.supervisors)
        with self.store.transaction():
            self.store.identities.mark_reported(now)
            self.outbox.queue([SendUser(s, text) for s in sorted(supervisors)], Origin(f"devices:{now!r}"))

    def _per_supervisor(self, findings: list[Finding], roster: Roster) -> dict[str, list[Finding]]:
        """Each supervisor gets the people of the units they supervise; those configured beside the rosters, all."""
        out: dict[str, list[Finding]] = {}
        for unit in roster.units.values():
            for supervisor in unit.supervisors:
                out.setdefault(supervisor, [])
        for supervisor in out:
            units = {u.id for u in roster.units.values() if supervisor in u.supervisors}
            out[supervisor] = [f for f in findings if f.person.units & units]
        for supervisor in self.config.roles.supervisors:
            out[supervisor] = list(findings)
        return out

    async def _ask_homeserver(self, people: Mapping[str, str | None]) -> dict[str, Reach]:
        session = saved_session(self.config.state_dir)
        if session is None:
            raise ReachabilityError("the bot has no saved session yet")
        return await reach(session, people)
