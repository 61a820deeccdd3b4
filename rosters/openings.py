"""When a district office next opens: the moment the alarms handled in its areas while it was closed are handed over."""

from __future__ import annotations

from rosters.model import Unit
from rosters.office import OfficeClock
from rosters.wallclock import local_day

# Longer than any run of closed days (a holiday week), short enough that a unit with no hours at all costs nothing.
_LOOK_AHEAD_DAYS = 60


def next_opening(unit: Unit, after: float) -> float | None:
    """The first opening of `unit` strictly after the Unix instant `after`; None for a unit without office hours or
    with none in the next two months."""
    if unit.office_hours is None:
        return None
    clock = OfficeClock(unit.office_hours, unit.tz)
    first = local_day(after, unit.tz)
    for day in range(first, first + _LOOK_AHEAD_DAYS):
        interval = clock.open_on(day)
        if interval is not None and interval[0] > after:
            return float(interval[0])
    return None


def is_open(unit: Unit, at: float) -> bool:
    """Whether `unit` (a district office) is open at `at`; a unit without office hours is never "open" in this
    sense, since it answers round the clock and hands nothing over."""
    if unit.office_hours is None:
        return False
    return OfficeClock(unit.office_hours, unit.tz).is_open(at, local_day(at, unit.tz))
