"""A unit's shifts read from an iCalendar file, recurring events included (rosters/ics_fields.py: the event format).

_Occurrences are expanded lazily, four weeks at a time, so an RRULE without an end costs nothing until asked about.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from rosters.ics_fields import event_role_and_user, vevents
from rosters.wallclock import UTC, handoff_instant

CalendarSlot = tuple[int, int, str, str, int]  # start, end (Unix seconds), role, user, order in the file


@dataclass(frozen=True)
class CheckedCalendar:
    calendar: icalendar.Calendar | None
    named: list[tuple[str, str]]  # (role, user) of every valid event
    problems: list[tuple[str, str]]  # (entry, message)


class _Occurrences(Protocol):
    """What UnitCalendar uses of a recurring_ical_events query, which ships without type information."""

    def between(self, start: datetime, stop: datetime) -> Iterable[icalendar.Event]:
        """Every occurrence overlapping [start, stop); only VEVENTs are asked for, so each is an Event."""
        ...


_BUCKET_S = 28 * 86400
_MARGIN = timedelta(days=2)  # floating times are read in the unit's zone, the query in UTC: widen, then filter exactly


class UnitCalendar:
    __slots__ = ("_buckets", "_order", "_query", "tz")

    def __init__(self, calendar: icalendar.Calendar, tz: tzinfo) -> None:
        self.tz = tz
        self._query: _Occurrences = recurring_ical_events.of(calendar)
        self._order: dict[str, int] = {}
        for index, event in enumerate(vevents(calendar)):
            self._order.setdefault(str(event.get("UID", index)), index)
        self._buckets: dict[int, list[CalendarSlot]] = {}

    def slots(self, start_ts: float, end_ts: float) -> list[CalendarSlot]:
        """_Occurrences that overlap [start_ts, end_ts), by start then file order (the order to paint them in)."""
        lo = datetime.fromtimestamp(start_ts, UTC) - _MARGIN
        hi = datetime.fromtimestamp(end_ts, UTC) + _MARGIN
        found: list[CalendarSlot] = []
        for event in self._query.between(lo, hi):
            role, user = event_role_and_user(event)
            start, end = self._instant(event.start), self._instant(event.end)
            if role and user and start < end_ts and end > start_ts and start < end:
                found.append((start, end, role, user, self._order.get(str(event.get("UID")), 0)))
        found.sort(key=lambda slot: (slot[0], slot[4]))
        return found

    def user_at(self, role: str, ts: float) -> str | None:
        """Of the occurrences holding `role` at `ts`, the one that started last (then the later in the file)."""
        bucket = int(ts // _BUCKET_S)
        slots = self._buckets.get(bucket)
        if slots is None:
            slots = self._buckets[bucket] = self.slots(bucket * _BUCKET_S, (bucket + 1) * _BUCKET_S)
        user = None
        for start, end, slot_role, slot_user, _ in slots:
            if start > ts:
                break
            if slot_role == role and ts < end:
                user = slot_user
        return user

    def _instant(self, value: date | datetime) -> int:
        if not isinstance(value, datetime):
            return handoff_instant(value, time(0), self.tz)
        zone = value.tzinfo
        if zone is None or isinstance(zone, ZoneInfo):
            # Wall-clock times follow the same DST rules as rotation handoffs.
            return handoff_instant(value.date(), value.time().replace(microsecond=0), zone or self.tz)
        return int(value.timestamp())


def check_calendar(data: bytes, people: Collection[str]) -> CheckedCalendar:
    """Parse an .ics and check every event names a known person and a role."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        return CheckedCalendar(None, [], [("calendar", f"not a valid iCalendar file: {exc}")])
    named: list[tuple[str, str]] = []
    problems: list[tuple[str, str]] = []
    for index, event in enumerate(vevents(calendar), start=1):
        entry = f"event {event.get('UID', f'#{index}')} ({event.get('SUMMARY', '')})"
        role, user = event_role_and_user(event)
        if role is None:
            problems.append((entry, 'does not name a role; write SUMMARY as "primary: @user:server"'))
        if user is None:
            problems.append((entry, 'does not name a person; write SUMMARY as "primary: @user:server"'))
        elif user not in people:
            problems.append((entry, f"unknown person {user} (add them to people.toml)"))
        elif role is not None:
            named.append((role, user))
        if event.get("DTSTART") is None:
            problems.append((entry, "has no DTSTART"))
        elif event.get("DTEND") is None and event.get("DURATION") is None and isinstance(event.start, datetime):
            problems.append((entry, "has no end (DTEND or DURATION)"))
    return CheckedCalendar(calendar, named, problems)
