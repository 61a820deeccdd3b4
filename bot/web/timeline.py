"""Shifts and gaps laid out on a week or a month: one row per day, bars placed by share of the day.

Days are wall-clock days in the unit's zone, so a DST day is 23 or 25 hours long and its bars are placed by its
own length; a shift crossing midnight shows on both days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from rosters import ROLES, Gap, Shift
from rosters.wallclock import day_start


@dataclass(frozen=True)
class Bar:
    left: float  # percent of the day
    width: float
    label: str  # who (a name), or "" for a gap
    role: str  # a role, or "gap"
    source: str  # "rotation" | "override" | "calendar" | "gap"
    start: datetime
    end: datetime
    covers: str = ""  # the name of whoever is on leave, when this is a turn taken for them

    @property
    def short(self) -> bool:
        """Too narrow on a phone for a name (under three hours of the day): shown there by its initials."""
        return self.width < 12.5

    @property
    def initials(self) -> str:
        """"Anna A" → "AA": what a short bar on a phone can hold."""
        return "".join(word[0] for word in self.label.split() if word[0].isalpha())


@dataclass(frozen=True)
class Day:
    day: date
    lanes: tuple[tuple[str, tuple[Bar, ...]], ...]  # (role, bars) in escalation order, then ("gap", bars)
    today: bool

    @property
    def has_gap(self) -> bool:
        return any(role == "gap" and bars for role, bars in self.lanes)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_span(day: date) -> tuple[date, int]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, (following - first).days


def other_view(first: date, count: int, today: date) -> date:
    """The day the week's "Månad" (or the month's "Vecka") link opens: today while it is shown; otherwise, from a
    week, its Thursday (the month most of its days are in, as ISO weeks count), and from a month, its first day. A
    week's Monday would open the month before for a week that begins in it."""
    if first <= today < first + timedelta(days=count):
        return today
    return first + timedelta(days=3) if count == 7 else first


def days(first: date, count: int, tz: tzinfo, shifts: Sequence[Shift], gaps: Sequence[Gap], today: date,
         names: Mapping[str, str] | None = None) -> list[Day]:
    names = names or {}
    out = []
    roles = [r for r in ROLES if any(s.role == r for s in shifts)] or ["primary"]
    for offset in range(count):
        day = first + timedelta(days=offset)
        lo, hi = day_start(day, tz).timestamp(), day_start(day + timedelta(days=1), tz).timestamp()
        lanes = []
        for role in roles:
            bars = [_bar(s.start, s.end, lo, hi, s.name, role, s.source, tz,
                         names.get(s.covers, s.covers)) for s in shifts if s.role == role]
            lanes.append((role, tuple(b for b in bars if b is not None)))
        gap_bars = [_bar(g.start, g.end, lo, hi, g.area, "gap", "gap", tz) for g in gaps]
        lanes.append(("gap", tuple(b for b in gap_bars if b is not None)))
        out.append(Day(day, tuple(lanes), day == today))
    return out


def _bar(start: datetime, end: datetime, lo: float, hi: float, label: str, role: str, source: str,
         tz: tzinfo, covers: str = "") -> Bar | None:
    a, b = max(start.timestamp(), lo), min(end.timestamp(), hi)
    if b <= a:
        return None
    span = hi - lo
    return Bar(round(100 * (a - lo) / span, 3), round(100 * (b - a) / span, 3), label, role, source,
               datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz), covers)
