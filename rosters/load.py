"""Reading a roster folder: people.toml, areas.toml, one TOML file per unit, and the .ics files units name.

Every problem is collected before giving up, so a supervisor fixes them all in one go; each names its file and entry.
The format is described in the comment header of each file in rosters/examples/.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rosters.errors import RosterError
from rosters.ics_import import UnitCalendar, check_calendar
from rosters.model import (
    DEFAULT_POLICY,
    DEFAULT_WAIT_S,
    DEFAULT_ZONE,
    ROLES,
    STEP_ROLES,
    WEEKDAYS,
    Area,
    EscalationStep,
    OfficeHours,
    Rotation,
    Unit,
)
from rosters.names import normalize
from rosters.roster import Roster

EXAMPLES_DIR = Path(__file__).parent / "examples"  # the fictional city used by the demo, docs and tests
PEOPLE_FILE = "people.toml"
AREAS_FILE = "areas.toml"

_MATRIX_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_SWEDISH_DAYS = ("man", "tis", "ons", "tor", "fre", "lor", "son")  # normalised: "mån" -> "man"
_EVERY = {"daily": 1, "weekly": 7}

_UNIT_KEYS = {
    "id", "name", "phone", "timezone", "supervisors", "members", "calendar", "office_hours", "escalation", "rotation",
}  # fmt: skip
_AREA_KEYS = {"id", "name", "aliases", "office_unit", "other_unit"}
_ROTATION_KEYS = {"role", "members", "start", "every", "shift", "days", "until", "name"}
_OFFICE_KEYS = {*WEEKDAYS, "before_holiday", "closed_on_holidays"}


def load_dir(path: str | Path) -> Roster:
    """Read and check a roster folder; raise RosterError listing every problem found."""
    folder = Path(path)
    if not folder.is_dir():
        raise RosterError([f"{folder}: not a folder"])
    problems: list[str] = []
    people = _read_people(folder / PEOPLE_FILE, problems)
    units: dict[str, Unit] = {}
    calendars: dict[str, UnitCalendar] = {}
    for file in sorted(folder.glob("*.toml")):
        if file.name not in (PEOPLE_FILE, AREAS_FILE):
            _read_unit(file, people, units, calendars, problems)
    areas = _read_areas(folder / AREAS_FILE, units, problems)
    if problems:
        raise RosterError(problems)
    return Roster(units, areas, people, calendars)


class _Entry:
    """One table of one file being read: reports problems as "file: entry: message"."""

    def __init__(self, problems: list[str], file: str, entry: str, table: dict[str, Any]) -> None:
        self.problems, self.file, self.entry, self.table = problems, file, entry, table

    def error(self, message: str) -> None:
        self.problems.append(f"{self.file}: {self.entry}: {message}" if self.entry else f"{self.file}: {message}")

    def only(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                self.error(f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        value = self.table.get(key)
        if value is None:
            if required:
                self.error(f"missing {key!r}")
            return default
        if not isinstance(value, str) or not value.strip():
            self.error(f"{key!r} must be a non-empty text, not {value!r}")
            return default
        return value.strip()

    def texts(self, key: str) -> list[str]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(f"{key!r} must be a list of texts, not {value!r}")
            return []
        return [v.strip() for v in value]

    def persons(self, key: str, people: dict[str, str]) -> tuple[str, ...]:
        found = []
        for user in self.texts(key):
            if user not in people:
                self.error(f"unknown person {user} in {key!r} (add them to {PEOPLE_FILE})")
            else:
                found.append(user)
        return tuple(found)

    def day(self, key: str, required: bool) -> date | None:
        value = self.table.get(key)
        if value is None:
            if required:
                self.error(f"missing {key!r} (a date, YYYY-MM-DD)")
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.error(f"{key!r}: bad date {value!r}, expected YYYY-MM-DD")
            return None

    def clock(self, key: str, value: object) -> time | None:
        if isinstance(value, time):
            return value
        match = _CLOCK.match(str(value).strip())
        if match is None:
            self.error(f"{key!r}: bad time {value!r}, expected HH:MM (24-hour clock)")
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def window(self, key: str, value: object) -> tuple[time, time] | None:
        parts = str(value).replace("–", "-").split("-")
        if len(parts) != 2:
            self.error(f"{key!r}: bad time span {value!r}, expected HH:MM-HH:MM")
            return None
        begins, ends = self.clock(key, parts[0]), self.clock(key, parts[1])
        return (begins, ends) if begins is not None and ends is not None else None


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        problems.append(f"{path.name}: missing from the roster folder")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path.name}: not valid TOML: {exc}")
    return None


def _read_people(path: Path, problems: list[str]) -> dict[str, str]:
    data = _read_toml(path, problems)
    if data is None:
        return {}
    _Entry(problems, path.name, "", data).only({"people"})
    table = data.get("people", {})
    people: dict[str, str] = {}
    for user, name in table.items() if isinstance(table, dict) else ():
        entry = _Entry(problems, path.name, f"person {user}", {})
        if not _MATRIX_ID.match(user):
            entry.error("not a Matrix user id like @anna.a:example.org")
        elif not isinstance(name, str) or not name.strip():
            entry.error("needs a display name")
        else:
            people[user] = name.strip()
    if not people:
        problems.append(f"{path.name}: no people under [people]")
    return people


def _read_unit(
    path: Path, people: dict[str, str], units: dict[str, Unit], calendars: dict[str, UnitCalendar], problems: list[str]
) -> None:
    data = _read_toml(path, problems)
    if data is None:
        return
    file = path.name
    head = _Entry(problems, file, "", data)
    head.only(_UNIT_KEYS)
    unit_id = head.text("id", required=False, default=path.stem)
    if not _SLUG.match(unit_id):
        head.error(f"unit id {unit_id!r} must be lowercase letters, digits, - or _")
    if unit_id in units:
        head.error(f"unit id {unit_id!r} is used by another file too")
    entry = _Entry(problems, file, f"unit {unit_id}", data)
    tz = _zone(entry)
    supervisors = entry.persons("supervisors", people)
    rotations = tuple(
        r
        for i, table in enumerate(_tables(entry, "rotation"), start=1)
        if (r := _read_rotation(_Entry(problems, file, _rotation_entry(i, table), table), unit_id, people)) is not None
    )
    _check_rotation_overlaps(entry, rotations)
    calendar_file = entry.text("calendar", required=False) or None
    named: list[tuple[str, str]] = []
    if calendar_file:
        named = _read_calendar(path.parent, calendar_file, tz, people, unit_id, calendars, problems)
    on_duty = [(r.role, m) for r in rotations for m in r.members] + named
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
        policy=_read_policy(entry, problems),
        office_hours=_read_office_hours(entry, problems),
        rotations=rotations,
        calendar=calendar_file,
    )


def _zone(entry: _Entry) -> ZoneInfo:
    name = entry.text("timezone", required=False, default=DEFAULT_ZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        entry.error(f"unknown time zone {name!r} (use an IANA name like {DEFAULT_ZONE})")
        return ZoneInfo(DEFAULT_ZONE)


def _tables(entry: _Entry, key: str) -> list[dict[str, Any]]:
    value = entry.table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        entry.error(f"{key!r} must be written as [[{key}]] tables")
        return []
    return value


def _rotation_entry(index: int, table: dict[str, Any]) -> str:
    label = ", ".join(str(table[k]) for k in ("role", "name") if k in table)
    return f"rotation #{index}" + (f" ({label})" if label else "")


def _read_rotation(entry: _Entry, unit_id: str, people: dict[str, str]) -> Rotation | None:
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
    if not (role in ROLES and members and len(members) == len(entry.table["members"]) and start and every and window):
        return None
    label = entry.text("name", required=False)
    return Rotation(unit_id, role, members, start, every, window[0], window[1], weekdays, until, label)


def _every(entry: _Entry) -> int | None:
    value = entry.table.get("every")
    if value is None:
        entry.error('missing \'every\' ("daily", "weekly" or a number of days)')
        return None
    days = _EVERY.get(value) if isinstance(value, str) else value
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        entry.error(f'\'every\': {value!r} is not "daily", "weekly" or a whole number of days')
        return None
    return days


def _weekdays(entry: _Entry) -> frozenset[int]:
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


def _check_rotation_overlaps(entry: _Entry, rotations: tuple[Rotation, ...]) -> None:
    for i, first in enumerate(rotations):
        for second in rotations[i + 1 :]:
            if first.role == second.role and (day := _first_overlap(first, second)) is not None:
                names = " and ".join(repr(r.label) if r.label else f"from {r.begins:%H:%M}" for r in (first, second))
                entry.error(f"{first.role} rotations {names} overlap (first on {day.isoformat()})")


def _first_overlap(a: Rotation, b: Rotation) -> date | None:
    """The first day shifts of `a` and `b` overlap on the wall clock; windows repeat weekly, so two weeks suffice."""
    lo = max(a.start, b.start) - timedelta(days=1)
    ends = [d for d in (a.until, b.until) if d is not None]
    hi = min([*ends, lo + timedelta(days=16)])
    spans_a, spans_b = _wall_spans(a, lo, hi), _wall_spans(b, lo, hi)
    for start_a, end_a in spans_a:
        for start_b, end_b in spans_b:
            if start_a < end_b and start_b < end_a:
                return max(start_a, start_b).date()
    return None


def _wall_spans(rotation: Rotation, lo: date, hi: date) -> list[tuple[datetime, datetime]]:
    spans = []
    for offset in range((hi - lo).days):
        day = lo + timedelta(days=offset)
        if rotation.member_on(day) is not None:
            end_day = day + timedelta(days=1) if rotation.crosses_midnight else day
            spans.append((datetime.combine(day, rotation.begins), datetime.combine(end_day, rotation.ends)))
    return spans


def _read_calendar(
    folder: Path,
    name: str,
    tz: ZoneInfo,
    people: dict[str, str],
    unit_id: str,
    calendars: dict[str, UnitCalendar],
    problems: list[str],
) -> list[tuple[str, str]]:
    if Path(name).name != name:
        problems.append(f"{unit_id}: calendar {name!r} must be a file in the roster folder, without a path")
        return []
    try:
        data = (folder / name).read_bytes()
    except OSError:
        problems.append(f"{name}: missing from the roster folder (named by unit {unit_id})")
        return []
    checked = check_calendar(data, people)
    problems.extend(f"{name}: {entry}: {message}" for entry, message in checked.problems)
    if checked.calendar is not None:
        calendars[unit_id] = UnitCalendar(checked.calendar, tz)
    return checked.named


def _read_policy(entry: _Entry, problems: list[str]) -> tuple[EscalationStep, ...]:
    tables = _tables(entry, "escalation")
    if not tables:
        return DEFAULT_POLICY
    steps = []
    for index, table in enumerate(tables, start=1):
        step = _Entry(problems, entry.file, f"escalation step #{index}", table)
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


def _read_office_hours(entry: _Entry, problems: list[str]) -> OfficeHours | None:
    table = entry.table.get("office_hours")
    if table is None:
        return None
    office = _Entry(problems, entry.file, f"unit {entry.table.get('id', Path(entry.file).stem)} [office_hours]", table)
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
    _Entry(problems, path.name, "", data).only({"area"})
    areas: dict[str, Area] = {}
    names: dict[str, str] = {}  # normalised name or alias -> area id
    for index, table in enumerate(_tables(_Entry(problems, path.name, "", data), "area"), start=1):
        entry = _Entry(problems, path.name, f"area {table.get('id', f'#{index}')}", table)
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
        for text in {area.id, area.name, *area.aliases}:
            taken = names.setdefault(normalize(text), area.id)
            if taken != area.id:
                entry.error(f"name or alias {text!r} is already used by area {taken}")
        areas[area_id] = area
    if not areas and not any(p.startswith(path.name) for p in problems):
        problems.append(f"{path.name}: no [[area]] entries")
    return areas


def _check_unit_ref(
    entry: _Entry, key: str, unit_id: str | None, units: dict[str, Unit], needs_office_hours: bool
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
