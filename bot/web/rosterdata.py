"""Every question the browser view asks the roster engine, in one place.

The view shows the roster exactly as chat and the CLI do: the engine's own answers with the stored overrides (leave
made in the browser is already in the roster: bot/duty/leave.py) — never a second calculation of who is on call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.core.i18n import calendar_words
from rosters import Chain, Gap, Override, Roster, Shift, find_gaps, person_feed, unit_feed
from rosters.findings import CHECK_DAYS, Finding, check_roster


def chains_now(roster: Roster, overrides: Sequence[Override], now: datetime) -> list[Chain]:
    """The escalation chain for every area at `now`, in the rosters' order."""
    return [roster.who(area.id, now, overrides) for area in roster.areas.values()]


def unit_shifts(roster: Roster, unit: str, start: datetime, end: datetime,
                overrides: Sequence[Override]) -> list[Shift]:
    return roster.shifts(unit, start, end, overrides)


def person_shifts(roster: Roster, user: str, start: datetime, end: datetime,
                  overrides: Sequence[Override]) -> list[Shift]:
    return roster.person_shifts(user, start, end, overrides)


def gaps(roster: Roster, start: datetime, end: datetime, overrides: Sequence[Override]) -> list[Gap]:
    return find_gaps(roster, start, end, overrides)


def unit_gaps(roster: Roster, unit: str, start: datetime, end: datetime, overrides: Sequence[Override]) -> list[Gap]:
    """Gaps of the areas this unit answers for, while it is the one answering."""
    out: list[Gap] = []
    for gap in gaps(roster, start, end, overrides):
        for since, until, answering in roster.coverage(gap.area, gap.start, gap.end):
            if answering == unit:
                out.append(Gap(gap.area, since, until))
    return out


def findings(roster: Roster, now: datetime, overrides: Sequence[Override]) -> list[Finding]:
    """What `roster check` reports about the rosters in force over the next CHECK_DAYS days: gaps, steps that page
    nobody new, one person on two shifts at once, rest shorter than the unit's minimum."""
    return check_roster(roster, now, now + timedelta(days=CHECK_DAYS), overrides)


def unit_calendar(roster: Roster, unit: str, now: datetime, overrides: Sequence[Override], lang: str) -> bytes:
    return unit_feed(roster, unit, now, calendar_words(lang), overrides)


def person_calendar(roster: Roster, user: str, now: datetime, overrides: Sequence[Override], lang: str) -> bytes:
    return person_feed(roster, user, now, calendar_words(lang), overrides)
