"""The figures for the evaluation against the store: alarms with their phases and handovers, per period and area,
and the monthly figures kept before the retention purge takes the alarms away."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from bot.alarm.evaluation import AlarmFacts, evaluate, facts, month_figures
from bot.alarm.machine import Alarm
from bot.alarm.stats import figures
from bot.core.figures import Evaluation, Figures
from bot.store import Store
from bot.store.area_months import ALL_AREAS
from rosters import Roster
from rosters.wallclock import day_start

log = logging.getLogger(__name__)

DAY = 86400.0
# A month is kept once it has been over this long: late phases and the office's `!mottaget` have come in by then.
SETTLE_S = 7 * DAY


def month_start(moment: datetime, tz: tzinfo) -> datetime:
    local = moment.astimezone(tz)
    return day_start(local.date().replace(day=1), tz)


def next_month(start: datetime, tz: tzinfo) -> datetime:
    return month_start(start + timedelta(days=32), tz)


class EvaluationService:
    def __init__(self, store: Store, roster: Callable[[], Roster]) -> None:
        self.store = store
        self.roster = roster

    def facts_between(self, start: datetime, end: datetime, area: str | None = None,
                      only: frozenset[str] | None = None) -> tuple[list[Alarm], list[AlarmFacts]]:
        """Alarms raised in [start, end), of one area or all (of those in `only`, if given), and their facts, in the
        order they were raised."""
        states = self.store.alarms.states_raised_between(start.timestamp(), end.timestamp())
        alarms = [Alarm.from_dict(s) for s in states
                  if (area is None or s["area"] == area) and (only is None or s["id"] in only)]
        handovers = self.store.handovers.for_alarms([a.id for a in alarms])
        areas = self.roster().areas
        rows = [facts(a, self.store.phases.of(a.id), handovers.get(a.id),
                      areas[a.area].office_unit if a.area in areas else None) for a in alarms]
        return alarms, rows

    def evaluate(self, start: datetime, end: datetime, area: str | None,
                 only: frozenset[str] | None = None) -> tuple[Figures, Evaluation]:
        alarms, rows = self.facts_between(start, end, area, only)
        return figures(alarms, start, end), evaluate(rows)

    def keep_months(self, now: float, retention_days: int) -> list[str]:
        """Store the figures of every month that is over (or about to lose alarms to the purge) and not yet kept,
        per area and for the whole city; returns the months kept now. Run before the purge."""
        first = self.store.area_months.first_alarm_at()
        if first is None:
            return []
        tz = self.roster().default_zone
        cutoff = now - retention_days * DAY
        kept: list[str] = []
        start = month_start(datetime.fromtimestamp(first, UTC), tz)
        while start.timestamp() <= now:
            end = next_month(start, tz)
            month = f"{start.year:04d}-{start.month:02d}"
            settled = end.timestamp() + SETTLE_S <= now or start.timestamp() <= cutoff
            if settled and not self.store.area_months.is_kept(month):
                self._keep(month, start, end, now)
                kept.append(month)
            start = end
        if kept:
            log.info("monthly figures kept for %s", ", ".join(kept))
        return kept

    def _keep(self, month: str, start: datetime, end: datetime, now: float) -> None:
        alarms, rows = self.facts_between(start, end)
        with self.store.transaction():
            for area in sorted({a.area for a in alarms}):
                chosen = [i for i, a in enumerate(alarms) if a.area == area]
                entry = month_figures([alarms[i] for i in chosen], [rows[i] for i in chosen])
                entry["area_name"] = alarms[chosen[0]].area_name
                self.store.area_months.keep(area, month, entry, now)
            self.store.area_months.keep(ALL_AREAS, month, month_figures(alarms, rows), now)
