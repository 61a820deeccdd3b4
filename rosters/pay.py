"""On-call hours for pay: per person and month, split the way on-call pay is counted.

Each second someone holds a shift (after overrides and leave, as `Roster.shifts` gives them) is paid in the first of
its unit's categories that holds it, highest first; what none holds is "other" (an ordinary day's hours). The default
categories, as Swedish on-call pay counts them:

- big_holiday — the big holidays, whole days: långfredag to annandag påsk (påskafton included), midsommarafton and
  midsommardagen, julafton to annandag jul, nyårsafton and nyårsdagen;
- holiday — every other Swedish public holiday, whole days (the `holidays` package, as the office hours use it);
- weekend — from Friday 19:00 to Monday 07:00;
- weekday_night — from 19:00 to 07:00 the next morning, on nights that begin Monday to Friday (Friday's is the
  weekend's from its start).

A unit's file may list fewer, in another order, and move the night's and the weekend's hours (`[pay]`, see
rosters/examples/socialjouren.toml). Every boundary is a wall-clock time in the unit's zone and every length is real
time: a 19:00–07:00 night is 13 hours when the clocks fall back and 11 when they spring forward.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from rosters.model import PAY_CATEGORIES, Override, PayRules, Unit
from rosters.roster import Roster
from rosters.wallclock import day_start, handoff_instant
from rosters.workdays import is_holiday

OTHER = "other"


@dataclass
class PayRow:
    """One person's hours in one unit and role over a month, in seconds per category (OTHER included)."""

    user: str
    name: str
    unit: str
    role: str
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def easter(year: int) -> date:
    """Easter Sunday of `year` in the Gregorian calendar (the anonymous algorithm, "Meeus/Jones/Butcher")."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def big_holidays(year: int) -> frozenset[date]:
    """Påsk, midsommar, jul and nyår of `year`, as whole days."""
    sunday = easter(year)
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    return frozenset({
        *(sunday + timedelta(days=n) for n in (-2, -1, 0, 1)),
        midsummer_eve, midsummer_eve + timedelta(days=1),
        date(year, 12, 24), date(year, 12, 25), date(year, 12, 26),
        date(year, 12, 31), date(year, 1, 1),
    })


def is_big_holiday(day: date) -> bool:
    return day in big_holidays(day.year)


def windows(rules: PayRules, tz: ZoneInfo, lo: float, hi: float) -> dict[str, list[tuple[float, float]]]:
    """Each category's stretches of time (Unix seconds) that touch [lo, hi), on the unit's wall clock."""
    first = datetime.fromtimestamp(lo, tz).date() - timedelta(days=7)  # a weekend begun the week before
    last = datetime.fromtimestamp(hi, tz).date() + timedelta(days=1)
    out: dict[str, list[tuple[float, float]]] = {c: [] for c in rules.categories}
    day = first
    while day <= last:
        start, end = day_start(day, tz).timestamp(), day_start(day + timedelta(days=1), tz).timestamp()
        if "big_holiday" in out and is_big_holiday(day):
            out["big_holiday"].append((start, end))
        if "holiday" in out and is_holiday(day) and not ("big_holiday" in out and is_big_holiday(day)):
            out["holiday"].append((start, end))
        if "weekday_night" in out and day.weekday() < 5:
            begins, ends = rules.night
            morning = day + timedelta(days=1) if ends <= begins else day
            out["weekday_night"].append((handoff_instant(day, begins, tz), handoff_instant(morning, ends, tz)))
        if "weekend" in out and day.weekday() == rules.weekend[0]:
            _, begins, last_day, ends = rules.weekend
            span = (last_day - day.weekday()) % 7 or 7
            out["weekend"].append((handoff_instant(day, begins, tz),
                                   handoff_instant(day + timedelta(days=span), ends, tz)))
        day += timedelta(days=1)
    return {c: [(a, b) for a, b in spans if a < hi and b > lo] for c, spans in out.items()}


def split(start: float, end: float, rules: PayRules, spans: Mapping[str, Sequence[tuple[float, float]]]
          ) -> dict[str, float]:
    """Seconds of [start, end) in each category, each second in the first category that holds it, else OTHER."""
    cuts = {start, end}
    for stretches in spans.values():
        cuts.update(x for a, b in stretches for x in (a, b) if start < x < end)
    points = sorted(cuts)
    out: dict[str, float] = {}
    for a, b in zip(points, points[1:], strict=False):
        middle = (a + b) / 2
        category = next((c for c in rules.categories if any(x <= middle < y for x, y in spans.get(c, ()))), OTHER)
        out[category] = out.get(category, 0.0) + (b - a)
    return out


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of `month` and of the month after, on the wall clock in `tz`."""
    first = month.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return day_start(first, tz), day_start(after, tz)


def pay_hours(roster: Roster, month: date, overrides: Sequence[Override] = (),
              units: Iterable[str] | None = None) -> list[PayRow]:
    """Everyone's on-call hours in `month` (each unit's month on its own wall clock), one row per person, unit and
    role, in the order of the people's names; shifts cut at the month's bounds."""
    rows: dict[tuple[str, str, str], PayRow] = {}
    for unit_id in units if units is not None else roster.units:
        unit: Unit = roster.units[unit_id]
        rules = unit.pay
        lo, hi = month_bounds(month, unit.tz)
        spans = windows(rules, unit.tz, lo.timestamp(), hi.timestamp())
        for shift in roster.shifts(unit.id, lo, hi, overrides):
            start, end = max(shift.start.timestamp(), lo.timestamp()), min(shift.end.timestamp(), hi.timestamp())
            if end <= start:
                continue
            row = rows.setdefault((shift.user, unit.id, shift.role),
                                  PayRow(shift.user, shift.name, unit.id, shift.role))
            for category, seconds in split(start, end, rules, spans).items():
                row.seconds[category] = row.seconds.get(category, 0.0) + seconds
    return sorted(rows.values(), key=lambda r: (r.name.casefold(), r.user, r.unit, r.role))


def categories_of(roster: Roster, units: Iterable[str] | None = None) -> tuple[str, ...]:
    """The categories the units count, in the default order, then OTHER: the columns of a report."""
    used = {c for uid in (units if units is not None else roster.units) for c in roster.units[uid].pay.categories}
    return (*(c for c in PAY_CATEGORIES if c in used), OTHER)
