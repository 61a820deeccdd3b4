"""The dated entries of a roster folder: overrides ([[override]] in a unit's file), leave ([[leave]] in
people.toml) and rotation membership changes ([[rotation.change]]). Problems are reported like the rest of the
loader's, naming file and entry.

A day written alone (2026-07-06) means that whole day: as `from` its first instant, as `to` its last, included,
as people say "ledig 6–10 juli". A date and time (2026-12-24T08:00) is read in the unit's zone (for leave, the zone
of the person's first unit) and must name one instant, as on the command line; an offset makes any time exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from rosters.errors import TimeError
from rosters.model import ROLES, Leave, MemberChange, Override
from rosters.toml_entry import Entry
from rosters.wallclock import day_start, parse_instant

OVERRIDE_KEYS = {"person", "role", "from", "to", "reason"}
LEAVE_KEYS = {"person", "from", "to", "reason"}
CHANGE_KEYS = {"from", "members"}


def tables(entry: Entry, key: str) -> list[dict[str, Any]]:
    value = entry.table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        entry.error(f"{key!r} must be written as [[{key}]] tables")
        return []
    return value


def read_overrides(
    unit: Entry, unit_id: str, file: str, tz: tzinfo, people: Mapping[str, str], supervisors: tuple[str, ...]
) -> tuple[Override, ...]:
    found: list[Override] = []
    for index, table in enumerate(tables(unit, "override"), start=1):
        entry = unit.child(f"override #{index}", table)
        known_problems = len(entry.problems)
        entry.only(OVERRIDE_KEYS)
        user = _person(entry, people)
        role = entry.text("role", required=False, default="primary")
        if role not in ROLES:
            entry.error(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        elif role == "supervisor" and user and user not in supervisors:
            entry.error(f"{user} covers a supervisor shift but is not among the unit's supervisors")
        span = read_span(entry, tz)
        if len(entry.problems) == known_problems and user and span:
            reason = entry.text("reason", required=False)
            found.append(Override(user, people[user], unit_id, role, span[0], span[1], f"{file}#{index}", reason))
    return tuple(found)


@dataclass(frozen=True)
class LeaveEntry:
    """A [[leave]] table as read, its times still to be placed in the person's zone (known once units are read)."""

    entry: Entry
    user: str
    reason: str


def read_leave(head: Entry, people: Mapping[str, object]) -> list[LeaveEntry]:
    found = []
    for index, table in enumerate(tables(head, "leave"), start=1):
        entry = head.child(f"leave #{index}", table)
        known_problems = len(entry.problems)
        entry.only(LEAVE_KEYS)
        user = _person(entry, people)
        for key in ("from", "to"):
            if key not in table:
                entry.error(f"missing {key!r} (a date, or a date and time)")
        if len(entry.problems) == known_problems and user:
            found.append(LeaveEntry(entry, user, entry.text("reason", required=False)))
    return found


def place_leave(raw: list[LeaveEntry], zone_of: Mapping[str, tzinfo], default: tzinfo) -> tuple[Leave, ...]:
    out = []
    for item in raw:
        span = read_span(item.entry, zone_of.get(item.user, default))
        if span is not None:
            where = f"{item.entry.file}: {item.entry.entry}"
            out.append(Leave(item.user, span[0], span[1], item.reason, where))
    return tuple(out)


def read_changes(rotation: Entry, people: Mapping[str, str], start: date | None) -> tuple[MemberChange, ...]:
    changes: list[MemberChange] = []
    for index, table in enumerate(tables(rotation, "change"), start=1):
        entry = rotation.child(f"{rotation.entry}: change #{index}", table)
        known_problems = len(entry.problems)
        entry.only(CHANGE_KEYS)
        since = entry.day("from", required=True)
        members = entry.persons("members", people)
        if not table.get("members"):
            entry.error("needs at least one member")
        if since and start and since <= start:
            entry.error(f"'from' {since} must be after the rotation's start {start}: edit 'members' instead")
        if since and changes and since <= changes[-1].since:
            entry.error(f"'from' {since} must be after the previous change's {changes[-1].since}")
        if len(entry.problems) == known_problems and since:
            changes.append(MemberChange(since, members))
    return tuple(changes)


def read_span(entry: Entry, tz: tzinfo) -> tuple[datetime, datetime] | None:
    start = _instant(entry, "from", tz, end_of_day=False)
    end = _instant(entry, "to", tz, end_of_day=True)
    if start is None or end is None:
        return None
    if end.timestamp() <= start.timestamp():
        entry.error(f"'to' {entry.table['to']} is not after 'from' {entry.table['from']}")
        return None
    return start, end


def _instant(entry: Entry, key: str, tz: tzinfo, end_of_day: bool) -> datetime | None:
    value = entry.table.get(key)
    if value is None:
        entry.error(f"missing {key!r} (a date, or a date and time)")
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return day_start(value + timedelta(days=1) if end_of_day else value, tz)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(tz)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return _instant(entry.child(entry.entry, {key: date.fromisoformat(value.strip())}), key, tz, end_of_day)
        except ValueError:
            pass
    try:
        return parse_instant(text, tz)
    except TimeError as err:
        entry.error(f"{key!r}: {err}")
        return None


def _person(entry: Entry, people: Mapping[str, object]) -> str | None:
    user = entry.text("person")
    if user and user not in people:
        entry.error(f"unknown person {user} (add them to people.toml)")
        return None
    return user or None
