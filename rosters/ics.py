"""Shifts as iCalendar (.ics), for people to subscribe to, and the way an event names its person and role.

An event names them in custom properties X-JOURBOT-ROLE and X-JOURBOT-USER, or, for calendars written by hand or in
another program, in its SUMMARY as "role: @user:server", e.g. "primary: @anna.a:localhost" (anything after the
Matrix id is ignored). Roles may be written in English or Swedish: primary/primär, secondary/sekundär,
supervisor/jourchef. Export writes both forms, so an exported file reads back as the same shifts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import icalendar

from rosters.model import Override, Shift
from rosters.names import normalize
from rosters.wallclock import UTC

if TYPE_CHECKING:
    from rosters.roster import Roster

ROLE_PROPERTY = "X-JOURBOT-ROLE"
USER_PROPERTY = "X-JOURBOT-USER"

_ROLE_WORDS = {
    "primary": "primary",
    "primar": "primary",
    "secondary": "secondary",
    "sekundar": "secondary",
    "supervisor": "supervisor",
    "jourchef": "supervisor",
}
_SUMMARY = re.compile(r"^\s*(?P<role>[^:@]+?)\s*:\s*(?P<user>@\S+)")


def role_word(text: str) -> str | None:
    """The role a (Swedish or English) word names, or None."""
    return _ROLE_WORDS.get(normalize(text))


def event_role_and_user(event: icalendar.Event) -> tuple[str | None, str | None]:
    """(role, Matrix id) as the event names them; None for what it does not name."""
    role_text, user = event.get(ROLE_PROPERTY), event.get(USER_PROPERTY)
    if role_text is None or user is None:
        match = _SUMMARY.match(str(event.get("SUMMARY", "")))
        if match:
            role_text = role_text if role_text is not None else match["role"]
            user = user if user is not None else match["user"]
    role = role_word(str(role_text)) if role_text is not None else None
    return role, (str(user).strip() if user is not None else None)


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
    return cal.to_ical()


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
