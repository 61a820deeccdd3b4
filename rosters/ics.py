"""Shifts as iCalendar (.ics), for people to subscribe to: "Socialjouren – primär, natt" at the wall-clock times
of the unit's zone, with that zone's VTIMEZONE, overrides and leave included.

Each event names its person and role both in custom properties and in its SUMMARY (see rosters/ics_fields.py), so
an exported file reads back as the same shifts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import icalendar

from rosters.ics_fields import ROLE_PROPERTY, USER_PROPERTY, event_role_and_user
from rosters.model import Override, Shift
from rosters.names import normalize, role_word
from rosters.wallclock import UTC

if TYPE_CHECKING:
    from rosters.roster import Roster

# The event fields and role_word were defined here once; they stay importable from here for existing callers.
__all__ = [
    "ROLE_PROPERTY",
    "CalendarWords",
    "USER_PROPERTY",
    "event_role_and_user",
    "person_feed",
    "person_ics",
    "role_word",
    "shifts_to_ics",
    "summary",
    "unit_feed",
    "unit_ics",
]


@dataclass(frozen=True)
class CalendarWords:
    """The words a calendar's events show, in the reader's language: each role as inside a sentence ("primär"),
    "byte" for an override, and "för Anna A, ledig" for someone standing in.

    The callers (bot/, which has the gettext catalogs) hand them in, from bot.core.i18n.calendar_words, rather than
    rosters keeping its own: the catalogs stay the one place a translator edits every word people read, a new
    language needs no change here, and rosters stays a package about shifts that knows no language (it may not import
    bot/: imports run bot -> handlers -> bot.core -> rosters). Moving the words down into rosters would have taken
    them out of the catalogs and their completeness test.
    """

    roles: Mapping[str, str]  # role id ("primary") -> word
    override: str
    covers: Callable[[str], str]  # the name of whoever is on leave -> "för Anna A, ledig"


def summary(shift: Shift, unit_name: str, words: CalendarWords, people: Mapping[str, str] | None = None,
            with_name: bool = False) -> str:
    """"Socialjouren – primär, natt": the unit, the role and the rotation's name, as a calendar shows it; then
    "(byte)" for an override, "(för Anna A, ledig)" when standing in; and ": Anna A" in a unit's calendar."""
    role = words.roles.get(shift.role, shift.role)
    text = f"{unit_name} – {role}"
    if shift.label and normalize(shift.label) not in (normalize(role), normalize(shift.role)):
        text += f", {shift.label.lower()}"
    if shift.source == "override":
        text += f" ({words.override})"
    if shift.covers:
        text += f" ({words.covers((people or {}).get(shift.covers, shift.covers))})"
    return f"{text}: {shift.name}" if with_name else text


def shifts_to_ics(
    shifts: Sequence[Shift],
    title: str,
    unit_names: dict[str, str],
    words: CalendarWords,
    stamp: datetime | None = None,
    people: Mapping[str, str] | None = None,
    with_names: bool = True,
) -> bytes:
    """One VEVENT per shift, at the wall-clock times of its unit's zone, with that zone as a VTIMEZONE so every
    calendar program shows the handoffs where they are, across DST changes. `stamp` fixes DTSTAMP for tests."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//jourbot//roster//SV")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", title)
    zones = {getattr(s.start.tzinfo, "key", "") for s in shifts} - {""}
    if len(zones) == 1:
        cal.add("x-wr-timezone", next(iter(zones)))
    dtstamp = (stamp or datetime.now(UTC)).astimezone(UTC)
    for shift in shifts:
        unit_name = unit_names.get(shift.unit, shift.unit)
        event = icalendar.Event()
        event.add("uid", f"{shift.unit}-{shift.role}-{int(shift.start.timestamp())}-{shift.user.lstrip('@')}@jourbot")
        event.add("dtstamp", dtstamp)
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("summary", summary(shift, unit_name, words, people, with_names))
        event.add("description", f"{shift.name} <{shift.user}>")
        event.add(ROLE_PROPERTY, shift.role)
        event.add(USER_PROPERTY, shift.user)
        if shift.source == "override":
            event.add("categories", ["override"])
        cal.add_component(event)
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()  # icalendar leaves to_ical unannotated
    return data


def unit_ics(
    roster: Roster,
    unit: str,
    start: datetime,
    end: datetime,
    words: CalendarWords,
    overrides: Sequence[Override] = (),
    stamp: datetime | None = None,
) -> bytes:
    """A unit's final shifts over [start, end) as an .ics file: overrides (the files' and `overrides`) and leave
    included, each event naming who holds it."""
    found = roster.unit(unit)
    shifts = roster.shifts(found.id, start, end, overrides)
    return shifts_to_ics(shifts, found.name, {found.id: found.name}, words, stamp, roster.people, with_names=True)


def person_ics(
    roster: Roster,
    user: str,
    start: datetime,
    end: datetime,
    words: CalendarWords,
    overrides: Sequence[Override] = (),
    stamp: datetime | None = None,
) -> bytes:
    """One person's final shifts, in every unit, over [start, end) as an .ics file: those an override or someone's
    leave gives them included, those their own leave takes away left out."""
    shifts = roster.person_shifts(user, start, end, overrides)
    names = {uid: u.name for uid, u in roster.units.items()}
    title = roster.people.get(user, user)
    return shifts_to_ics(shifts, title, names, words, stamp, roster.people, with_names=False)


FEED_DAYS_BACK = 14  # a subscribed calendar keeps the recent past ...
FEED_DAYS_AHEAD = 92  # ... and looks about a quarter ahead


def unit_feed(
    roster: Roster, unit: str, now: datetime, words: CalendarWords, overrides: Sequence[Override] = ()
) -> bytes:
    """The calendar a unit's subscribers fetch: its shifts from two weeks back to three months ahead of `now`.

    For the web view, which serves it at an unguessable, revocable address; `overrides` are those made in chat."""
    start, end = _feed_window(now)
    return unit_ics(roster, unit, start, end, words, overrides, now)


def person_feed(
    roster: Roster, user: str, now: datetime, words: CalendarWords, overrides: Sequence[Override] = ()
) -> bytes:
    """The calendar one person subscribes to: their shifts in every unit, two weeks back to three months ahead."""
    start, end = _feed_window(now)
    return person_ics(roster, user, start, end, words, overrides, now)


def _feed_window(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=FEED_DAYS_BACK), day + timedelta(days=FEED_DAYS_AHEAD)
