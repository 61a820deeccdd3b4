"""Reading a roster folder: people.toml, areas.toml, one TOML file per unit, and the .ics files units name.

Every problem is collected before giving up, so a supervisor fixes them all in one go; each names its file and entry.
The format is described in the comment header of each file in rosters/examples/.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rosters.errors import RosterError
from rosters.ics_import import UnitCalendar, check_calendar
from rosters.load_dated import LeaveEntry, place_leave, read_changes, read_leave, read_overrides
from rosters.model import (
    DEFAULT_POLICY,
    DEFAULT_WAIT_S,
    DEFAULT_ZONE,
    PAY_CATEGORIES,
    ROLES,
    STEP_ROLES,
    WEEKDAYS,
    Area,
    EscalationStep,
    OfficeHours,
    Override,
    PayRules,
    Person,
    Rotation,
    Unit,
)
from rosters.names import is_matrix_user_id, normalize
from rosters.phones import is_e164
from rosters.roster import Roster
from rosters.rotations import first_overlap
from rosters.toml_entry import Entry

EXAMPLES_DIR = Path(__file__).parent / "examples"  # the fictional city used by the demo, docs and tests
PEOPLE_FILE = "people.toml"
AREAS_FILE = "areas.toml"
POLICE_FILE = "police.toml"  # optional: officers' names and phone numbers, for the one who takes their alarm

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SWEDISH_DAYS = ("man", "tis", "ons", "tor", "fre", "lor", "son")  # normalised: "mån" -> "man"
_EVERY = {"daily": 1, "weekly": 7}

_UNIT_KEYS = {
    "id",
    "name",
    "phone",
    "timezone",
    "supervisors",
    "members",
    "calendar",
    "office_hours",
    "escalation",
    "rotation",
    "override",
    "min_rest_hours",
    "responders_needed",
    "pay",
}
_AREA_KEYS = {"id", "name", "aliases", "office_unit", "other_unit"}
_ROTATION_KEYS = {"role", "members", "start", "every", "shift", "days", "until", "name", "change"}
_OFFICE_KEYS = {*WEEKDAYS, "before_holiday", "closed_on_holidays"}


def load_dir(path: str | Path) -> Roster:
    """Read and check a roster folder; raise RosterError listing every problem found."""
    folder = Path(path)
    if not folder.is_dir():
        raise RosterError([f"{folder}: not a folder"])
    problems: list[str] = []
    persons, raw_leave = _read_people(folder / PEOPLE_FILE, problems)
    people = {user: person.name for user, person in persons.items()}
    units: dict[str, Unit] = {}
    calendars: dict[str, UnitCalendar] = {}
    overrides: list[Override] = []
    for file in sorted(folder.glob("*.toml")):
        if file.name not in (PEOPLE_FILE, AREAS_FILE, POLICE_FILE):
            overrides += _read_unit(file, people, units, calendars, problems)
    police = _read_police(folder / POLICE_FILE, problems)
    areas = _read_areas(folder / AREAS_FILE, units, problems)
    zone_of: dict[str, ZoneInfo] = {}
    for unit in units.values():
        for user in (*unit.members, *unit.supervisors):
            zone_of.setdefault(user, unit.tz)
    default_zone = next((u.tz for u in units.values()), ZoneInfo(DEFAULT_ZONE))
    leave = place_leave(raw_leave, zone_of, default_zone)
    if problems:
        raise RosterError(problems)
    return Roster(units, areas, people, calendars, persons, overrides, leave, police)


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        problems.append(f"{path.name}: missing from the roster folder")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path.name}: not valid TOML: {exc}")
    return None


def _read_people(path: Path, problems: list[str]) -> tuple[dict[str, Person], list[LeaveEntry]]:
    data = _read_toml(path, problems)
    if data is None:
        return {}, []
    head = Entry(problems, path.name, "", data)
    head.only({"people", "leave"})
    table = data.get("people", {})
    people: dict[str, Person] = {}
    for user, value in table.items() if isinstance(table, dict) else ():
        entry = head.child(f"person {user}", value if isinstance(value, dict) else {})
        if not is_matrix_user_id(user):
            entry.error("not a Matrix user id like @anna.a:example.org")
            continue
        if isinstance(value, dict):
            person = _read_person(entry, user)
        elif isinstance(value, str) and value.strip():
            person = Person(user, value.strip())
        else:
            entry.error('needs a display name: "Anna A", or { name = "Anna A", phone = "+46701234567" }')
            person = None
        if person is not None:
            people[user] = person
    if not people and not any(p.startswith(path.name) for p in problems):
        problems.append(f"{path.name}: no people under [people]")
    return people, read_leave(head, people)


def _read_police(path: Path, problems: list[str]) -> dict[str, Person]:
    """police.toml, if there is one: `[police]` with an officer per line, as in people.toml. Officers written here
    get no role (roles.police in config.toml gives that); the one who takes their alarm sees their name and number."""
    if not path.exists():
        return {}
    data = _read_toml(path, problems)
    if data is None:
        return {}
    head = Entry(problems, path.name, "", data)
    head.only({"police"})
    table = data.get("police", {})
    police: dict[str, Person] = {}
    for user, value in table.items() if isinstance(table, dict) else ():
        entry = head.child(f"officer {user}", value if isinstance(value, dict) else {})
        if not is_matrix_user_id(user):
            entry.error("not a Matrix user id like @polis1:example.org")
        elif isinstance(value, dict):
            person = _read_person(entry, user)
            if person is not None:
                police[user] = person
        elif isinstance(value, str) and value.strip():
            police[user] = Person(user, value.strip())
        else:
            entry.error('needs a name: "Per Polis", or { name = "Per Polis", phone = "+46701234567" }')
    return police


def _read_person(entry: Entry, user: str) -> Person | None:
    known_problems = len(entry.problems)
    entry.only({"name", "phone"})
    name = entry.text("name")
    phone = entry.text("phone", required=False) or None
    if phone is not None and not is_e164(phone):
        entry.error(f"phone {phone!r} is not in E.164 form: + and country code, no spaces, e.g. +46701234567")
    return Person(user, name, phone) if len(entry.problems) == known_problems else None


def _read_unit(
    path: Path, people: dict[str, str], units: dict[str, Unit], calendars: dict[str, UnitCalendar], problems: list[str]
) -> list[Override]:
    """Read one unit into `units`; return the overrides its file writes."""
    data = _read_toml(path, problems)
    if data is None:
        return []
    file = path.name
    head = Entry(problems, file, "", data)
    head.only(_UNIT_KEYS)
    unit_id = head.text("id", required=False, default=path.stem)
    if not _SLUG.match(unit_id):
        head.error(f"unit id {unit_id!r} must be lowercase letters, digits, - or _")
    if unit_id in units:
        head.error(f"unit id {unit_id!r} is used by another file too")
    entry = head.child(f"unit {unit_id}", data)
    tz = _zone(entry)
    supervisors = entry.persons("supervisors", people)
    rotations = tuple(
        r
        for i, table in enumerate(_tables(entry, "rotation"), start=1)
        if (r := _read_rotation(entry.child(_rotation_entry(i, table), table), unit_id, people)) is not None
    )
    _check_rotation_overlaps(entry, rotations)
    calendar_file = entry.text("calendar", required=False) or None
    named: list[tuple[str, str]] = []
    if calendar_file:
        named = _read_calendar(entry, unit_id, path.parent / calendar_file, tz, people, calendars)
    on_duty = [(r.role, m) for r in rotations for m in r.everyone] + named
    for role, user in on_duty:
        if role == "supervisor" and user not in supervisors:
            entry.error(f"{user} is on a supervisor shift but not among the unit's supervisors")
    members = _unique([*entry.persons("members", people), *(u for role, u in on_duty if role != "supervisor")])
    units[unit_id] = Unit(
        id=unit_id,
        name=entry.text("name", default=unit_id),
        phone=entry.text("phone", required=False),
        tz=tz,
        supervisors=supervisors,
        members=members,
        policy=_read_policy(entry),
        office_hours=_read_office_hours(entry, unit_id),
        rotations=rotations,
        calendar=calendar_file,
        min_rest_s=_min_rest(entry),
        file=file,
        responders_needed=_responders_needed(entry),
        pay=_read_pay(entry, unit_id),
    )
    return list(read_overrides(entry, unit_id, file, tz, people, supervisors))


def _read_pay(entry: Entry, unit_id: str) -> PayRules:
    """[pay]: which categories the unit's on-call hours are paid in, highest first, and its nights' and weekends'
    hours; anything left out keeps the default (rosters/pay.py)."""
    table = entry.table.get("pay")
    if table is None:
        return PayRules()
    pay = entry.child(f"unit {unit_id} [pay]", table if isinstance(table, dict) else {})
    if not isinstance(table, dict):
        pay.error("must be a table")
        return PayRules()
    pay.only({"categories", "weekday_night", "weekend"})
    rules = PayRules()
    if "categories" in table:
        named = pay.texts("categories")
        unknown = [c for c in named if c not in PAY_CATEGORIES]
        if unknown:
            pay.error(f"unknown categories {', '.join(map(repr, unknown))} (known: {', '.join(PAY_CATEGORIES)})")
        elif len(set(named)) != len(named):
            pay.error("a category is named twice")
        else:
            rules = replace(rules, categories=tuple(named))
    if "weekday_night" in table:
        night = pay.window("weekday_night", table["weekday_night"])
        if night is not None:
            rules = replace(rules, night=night)
    if "weekend" in table:
        weekend = _weekend(str(table["weekend"]))
        if weekend is None:
            pay.error(f"'weekend': {table['weekend']!r} does not read as a span like \"fri 19:00 - mon 07:00\"")
        else:
            rules = replace(rules, weekend=weekend)
    return rules


def _responders_needed(entry: Entry) -> int:
    value = entry.table.get("responders_needed", 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        entry.error(f"'responders_needed' must be a whole number from 1 to 5, not {value!r}")
        return 1
    return value


def _min_rest(entry: Entry) -> float | None:
    value = entry.table.get("min_rest_hours")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 24:
        entry.error(f"'min_rest_hours' must be a number of hours between 0 and 24, not {value!r}")
        return None
    return float(value) * 3600


def _zone(entry: Entry) -> ZoneInfo:
    name = entry.text("timezone", required=False, default=DEFAULT_ZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        entry.error(f"unknown time zone {name!r} (use an IANA name like {DEFAULT_ZONE})")
        return ZoneInfo(DEFAULT_ZONE)


def _tables(entry: Entry, key: str) -> list[dict[str, Any]]:
    value = entry.table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        entry.error(f"{key!r} must be written as [[{key}]] tables")
        return []
    return value


def _rotation_entry(index: int, table: dict[str, Any]) -> str:
    label = ", ".join(str(table[k]) for k in ("role", "name") if k in table)
    return f"rotation #{index}" + (f" ({label})" if label else "")


def _read_rotation(entry: Entry, unit_id: str, people: dict[str, str]) -> Rotation | None:
    known_problems = len(entry.problems)
    entry.only(_ROTATION_KEYS)
    role = entry.text("role")
    if role and role not in ROLES:
        entry.error(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    members = entry.persons("members", people)
    if not entry.table.get("members"):
        entry.error("needs at least one member")
    start = entry.day("start", required=True)
    until = entry.day("until", required=False)
    if start and until and until <= start:
        entry.error("'until' must be after 'start'")
    every = _every(entry)
    window = entry.window("shift", entry.table["shift"]) if "shift" in entry.table else None
    if "shift" not in entry.table:
        entry.error('missing \'shift\' (a time span like "08:00-22:00"; "08:00-08:00" is round the clock)')
    weekdays = _weekdays(entry)
    label = entry.text("name", required=False)
    changes = read_changes(entry, people, start)
    if len(entry.problems) > known_problems or not (start and every and window):
        return None
    return Rotation(unit_id, role, members, start, every, window[0], window[1], weekdays, until, label, changes)


def _every(entry: Entry) -> int | None:
    value = entry.table.get("every")
    if value is None:
        entry.error('missing \'every\' ("daily", "weekly" or a number of days)')
        return None
    days = _EVERY.get(value) if isinstance(value, str) else value
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        entry.error(f'\'every\': {value!r} is not "daily", "weekly" or a whole number of days')
        return None
    return days


def _weekdays(entry: Entry) -> frozenset[int]:
    if "days" not in entry.table:
        return frozenset(range(7))
    found = set()
    for name in entry.texts("days"):
        key = normalize(name)[:3]
        if key in WEEKDAYS:
            found.add(WEEKDAYS.index(key))
        elif key in _SWEDISH_DAYS:
            found.add(_SWEDISH_DAYS.index(key))
        else:
            entry.error(f"'days': unknown weekday {name!r} (mon, tue, ... or mån, tis, ...)")
    if not found:
        entry.error("'days' names no weekday")
    return frozenset(found)


def _check_rotation_overlaps(entry: Entry, rotations: tuple[Rotation, ...]) -> None:
    for i, first in enumerate(rotations):
        for second in rotations[i + 1 :]:
            if first.role == second.role and (day := first_overlap(first, second)) is not None:
                names = " and ".join(repr(r.label) if r.label else f"from {r.begins:%H:%M}" for r in (first, second))
                entry.error(f"{first.role} rotations {names} overlap (first on {day.isoformat()})")


def _read_calendar(
    entry: Entry, unit_id: str, path: Path, tz: ZoneInfo, people: dict[str, str], calendars: dict[str, UnitCalendar]
) -> list[tuple[str, str]]:
    """Check the unit's .ics and keep it for lookups; return the (role, user) pairs its events name."""
    if path.name != entry.table["calendar"]:
        entry.error(f"calendar {entry.table['calendar']!r} must be a file in the roster folder, without a path")
        return []
    try:
        data = path.read_bytes()
    except OSError:
        entry.error(f"calendar {path.name!r} is missing from the roster folder")
        return []
    checked = check_calendar(data, people)
    entry.problems.extend(f"{path.name}: {event}: {message}" for event, message in checked.problems)
    if checked.calendar is not None:
        calendars[unit_id] = UnitCalendar(checked.calendar, tz)
    return checked.named


def _read_policy(entry: Entry) -> tuple[EscalationStep, ...]:
    tables = _tables(entry, "escalation")
    if not tables:
        return DEFAULT_POLICY
    steps: list[EscalationStep] = []
    for index, table in enumerate(tables, start=1):
        step = entry.child(f"escalation step #{index}", table)
        step.only({"role", "wait_s"})
        role = step.text("role")
        wait = table.get("wait_s", DEFAULT_WAIT_S)
        if role not in STEP_ROLES:
            step.error(f"unknown role {role!r} (one of {', '.join(STEP_ROLES)})")
        elif role in (s.role for s in steps):
            step.error(f"role {role!r} is already an earlier step")
        elif isinstance(wait, bool) or not isinstance(wait, int) or wait < 0:
            step.error(f"'wait_s' must be a whole number of seconds, not {wait!r}")
        else:
            steps.append(EscalationStep(role, wait))
    return tuple(steps)


def _read_office_hours(entry: Entry, unit_id: str) -> OfficeHours | None:
    table = entry.table.get("office_hours")
    if table is None:
        return None
    office = entry.child(f"unit {unit_id} [office_hours]", table)
    if not isinstance(table, dict):
        office.error("must be a table")
        return None
    office.only(_OFFICE_KEYS)
    weekly: list[tuple[time, time] | None] = []
    for day in WEEKDAYS:
        value = table.get(day, "closed")
        window = None if value == "closed" else office.window(day, value)
        if window is not None and window[1] <= window[0]:
            office.error(f"{day!r}: {value!r} closes before it opens")
            window = None
        weekly.append(window)
    early = office.clock("before_holiday", table["before_holiday"]) if "before_holiday" in table else None
    closed = table.get("closed_on_holidays", True)
    if not isinstance(closed, bool):
        office.error("'closed_on_holidays' must be true or false")
        closed = True
    return OfficeHours(tuple(weekly), early, closed)


def _read_areas(path: Path, units: dict[str, Unit], problems: list[str]) -> dict[str, Area]:
    data = _read_toml(path, problems)
    if data is None:
        return {}
    head = Entry(problems, path.name, "", data)
    head.only({"area"})
    areas: dict[str, Area] = {}
    names: dict[str, str] = {}  # normalised name or alias -> area id
    for index, table in enumerate(_tables(head, "area"), start=1):
        entry = head.child(f"area {table.get('id', f'#{index}')}", table)
        entry.only(_AREA_KEYS)
        area_id = entry.text("id")
        if area_id and not _SLUG.match(area_id):
            entry.error(f"id {area_id!r} must be lowercase letters, digits, - or _")
        if area_id in areas:
            entry.error("id used by an earlier area")
        office, other = entry.text("office_unit", required=False) or None, entry.text("other_unit")
        _check_unit_ref(entry, "office_unit", office, units, needs_office_hours=True)
        _check_unit_ref(entry, "other_unit", other, units, needs_office_hours=False)
        area = Area(area_id, entry.text("name", default=area_id), tuple(entry.texts("aliases")), office, other)
        for text in dict.fromkeys((area.id, area.name, *area.aliases)):
            taken = names.setdefault(normalize(text), area.id)
            if taken != area.id:
                entry.error(f"name or alias {text!r} is already used by area {taken}")
        areas[area_id] = area
    if not areas and not any(p.startswith(path.name) for p in problems):
        problems.append(f"{path.name}: no [[area]] entries")
    return areas


def _check_unit_ref(
    entry: Entry, key: str, unit_id: str | None, units: dict[str, Unit], needs_office_hours: bool
) -> None:
    if unit_id is None:
        return
    unit = units.get(unit_id)
    if unit is None:
        entry.error(f"{key!r}: unknown unit {unit_id!r} (units: {', '.join(sorted(units)) or 'none'})")
    elif needs_office_hours and unit.office_hours is None:
        entry.error(f"{key!r}: unit {unit_id!r} has no [office_hours]")
    elif not needs_office_hours and unit.office_hours is not None:
        entry.error(f"{key!r}: unit {unit_id!r} answers at all other times, so it cannot have [office_hours]")


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _weekend(text: str) -> tuple[int, time, int, time] | None:
    """"fri 19:00 - mon 07:00" → (4, 19:00, 0, 07:00); None if it does not read."""
    parts = [p.strip() for p in text.replace("–", "-").split("-")]
    if len(parts) != 2:
        return None
    ends: list[tuple[int, time]] = []
    for part in parts:
        words = part.split()
        if len(words) != 2 or words[0][:3].lower() not in WEEKDAYS:
            return None
        try:
            clock = time.fromisoformat(words[1] if len(words[1]) == 5 else "0" + words[1])
        except ValueError:
            return None
        ends.append((WEEKDAYS.index(words[0][:3].lower()), clock))
    return ends[0][0], ends[0][1], ends[1][0], ends[1][1]
