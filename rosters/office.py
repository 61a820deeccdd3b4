"""When a district office is open, as intervals of Unix seconds, one per local day."""

from __future__ import annotations

from datetime import date, tzinfo

from rosters.model import OfficeHours
from rosters.wallclock import handoff_instant, local_day
from rosters.workdays import is_eve_of_holiday, is_holiday

Interval = tuple[int, int]


class OfficeClock:
    """Answers "is the office open at this instant?" from a per-day cache, filled as days are asked about."""

    __slots__ = ("_days", "hours", "tz")

    def __init__(self, hours: OfficeHours, tz: tzinfo) -> None:
        self.hours = hours
        self.tz = tz
        self._days: dict[int, Interval | None] = {}

    def open_on(self, day_ordinal: int) -> Interval | None:
        try:
            return self._days[day_ordinal]
        except KeyError:
            interval = self._days[day_ordinal] = self._compute(date.fromordinal(day_ordinal))
            return interval

    def _compute(self, day: date) -> Interval | None:
        hours = self.hours
        window = hours.weekly[day.weekday()]
        if window is None or (hours.closed_on_holidays and is_holiday(day)):
            return None
        opens, closes = window
        if hours.before_holiday_close is not None and is_eve_of_holiday(day):
            closes = min(closes, hours.before_holiday_close)
        if closes <= opens:
            return None
        return handoff_instant(day, opens, self.tz), handoff_instant(day, closes, self.tz)

    def is_open(self, ts: float, day_ordinal: int) -> bool:
        interval = self.open_on(day_ordinal)
        return interval is not None and interval[0] <= ts < interval[1]

    def intervals(self, start_ts: float, end_ts: float) -> list[Interval]:
        """Opening intervals that overlap [start_ts, end_ts), in order."""
        first, last = local_day(start_ts, self.tz), local_day(end_ts, self.tz)
        found = (self.open_on(day) for day in range(first, last + 1))
        return [iv for iv in found if iv is not None and iv[0] < end_ts and iv[1] > start_ts]
