"""How an iCalendar event names its person and role, shared by .ics export (rosters/ics.py) and import (ics_import.py).

It lives apart from both because export needs the Roster and the Roster needs import: were these fields kept in
ics.py, import would reach the Roster again through it, an import cycle.

An event names them in custom properties X-JOURBOT-ROLE and X-JOURBOT-USER, or, for calendars written by hand or in
another program, in its SUMMARY as "role: @user:server", e.g. "primary: @anna.a:localhost" (anything after the
Matrix id is ignored). Roles may be written in English or Swedish (see rosters.names.role_word).
"""

from __future__ import annotations

import re

import icalendar

from rosters.names import role_word

__all__ = ["ROLE_PROPERTY", "SUMMARY", "USER_PROPERTY", "event_role_and_user", "vevents"]

ROLE_PROPERTY = "X-JOURBOT-ROLE"
USER_PROPERTY = "X-JOURBOT-USER"

# "primary: @anna.a:localhost (Anna A, Socialjouren)": the form export writes and people write by hand.
SUMMARY = re.compile(r"^\s*(?P<role>[^:@]+?)\s*:\s*(?P<user>@\S+)")


def event_role_and_user(event: icalendar.Event) -> tuple[str | None, str | None]:
    """(role, Matrix id) as the event names them; None for what it does not name.

    The X- properties are exact, written by export for machines; SUMMARY is the fallback for calendars made by hand
    or in other programs, so it fills in only what the properties leave out.
    """
    role_text: object = event.get(ROLE_PROPERTY)
    user: object = event.get(USER_PROPERTY)
    if role_text is None or user is None:
        match = SUMMARY.match(str(event.get("SUMMARY", "")))
        if match:
            role_text = role_text if role_text is not None else match["role"]
            user = user if user is not None else match["user"]
    role = role_word(str(role_text)) if role_text is not None else None
    return role, (str(user).strip() if user is not None else None)


def vevents(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    """The calendar's VEVENTs, typed as events.

    icalendar's `walk` is typed as returning any component; its parser builds every VEVENT as an `Event`, so the
    filter drops nothing and only lets the type checker see what callers may use (`start`, `end`).
    """
    return [component for component in calendar.walk("VEVENT") if isinstance(component, icalendar.Event)]
