"""Shifts as iCalendar (.ics), for people to subscribe to.

Each event names its person and role both in custom properties and in its SUMMARY (see rosters/ics_fields.py), so
an exported file reads back as the same shifts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import icalendar

from rosters.ics_fields import ROLE_PROPERTY, USER_PROPERTY, event_role_and_user
from rosters.model import Override, Shift
from rosters.names import role_word
from rosters.wallclock import UTC

if TYPE_CHECKING:
    from rosters.roster import Roster

# The event fields and role_word were defined here once; they stay importable from here for existing callers.
__all__ = [
    "ROLE_PROPERTY",
    "USER_PROPERTY",
    "event_role_and_user",
    "person_ics",
    "role_word",
    "shifts_to_ics",
    "unit_ics",
]


def shifts_to_ics(
    shifts: Sequence[Shift], title: str, unit_names: dict[str, str], stamp: datetime | None = None
) -> bytes:
    """One VEVENT per shift, times in UTC so that no reader has to guess a zone. `stamp` fixes DTSTAMP for tests."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//jourbot//roster//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", title)
    dtstamp = (stamp or datetime.now(UTC)).astimezone(UTC)
    for shift in shifts:
        start, end = shift.start.astimezone(UTC), shift.end.astimezone(UTC)
        unit_name = unit_names.get(shift.unit, shift.unit)
        event = icalendar.Event()
        event.add("uid", f"{shift.unit}-{shift.role}-{int(start.timestamp())}-{shift.user.lstrip('@')}@jourbot")
        event.add("dtstamp", dtstamp)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", f"{shift.role}: {shift.user} ({shift.name}, {unit_name})")
        event.add(ROLE_PROPERTY, shift.role)
        event.add(USER_PROPERTY, shift.user)
        if shift.source == "override":
            event.add("description", "override")
        cal.add_component(event)
    data: bytes = cal.to_ical()  # icalendar leaves to_ical unannotated
    return data


def unit_ics(
    roster: Roster,
    unit: str,
    start: datetime,
    end: datetime,
    overrides: Sequence[Override] = (),
    stamp: datetime | None = None,
) -> bytes:
    """A unit's final shifts over [start, end) as an .ics file."""
    found = roster.unit(unit)
    shifts = roster.shifts(found.id, start, end, overrides)
    return shifts_to_ics(shifts, found.name, {found.id: found.name}, stamp)


def person_ics(
    roster: Roster,
    user: str,
    start: datetime,
    end: datetime,
    overrides: Sequence[Override] = (),
    stamp: datetime | None = None,
) -> bytes:
    """One person's final shifts, in every unit, over [start, end) as an .ics file."""
    shifts = roster.person_shifts(user, start, end, overrides)
    names = {uid: u.name for uid, u in roster.units.items()}
    return shifts_to_ics(shifts, roster.people.get(user, user), names, stamp)
