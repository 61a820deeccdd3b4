"""The roster's parts as read from the files: people, units, their office hours and rotations, areas; and the
overrides, shifts and gaps the engine takes in or hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ROLES = ("primary", "secondary", "supervisor")  # roles a person holds on a shift
STEP_ROLES = (*ROLES, "unit")  # "unit": everyone in the unit
DEFAULT_WAIT_S = 120
DEFAULT_ZONE = "Europe/Stockholm"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Person:
    """Someone in people.toml: a Matrix id, the name others see, and an optional phone number in E.164 form.

    The number is shown to the police when this person accepts an alarm and is what an SMS channel sends to.
    """

    user: str
    name: str
    phone: str | None = None


@dataclass(frozen=True)
class EscalationStep:
    role: str  # one of STEP_ROLES
    wait_s: int = DEFAULT_WAIT_S


DEFAULT_POLICY = tuple(EscalationStep(role) for role in STEP_ROLES)


@dataclass(frozen=True)
class OfficeHours:
    """When a district office answers: per weekday, closed on holidays, optionally closing early the day before one."""

    weekly: tuple[tuple[time, time] | None, ...]  # Monday first; None: closed that weekday
    before_holiday_close: time | None = None
    closed_on_holidays: bool = True


@dataclass(frozen=True)
class Rotation:
    """Members take turns on a daily shift window; the handoff is at the window's start, on the wall clock.

    A member holds `every_days` consecutive shifts, then the next member takes over, starting with members[0] on
    `start`. A window whose end is not after its start crosses midnight; equal ends mean round the clock.
    """

    unit: str
    role: str
    members: tuple[str, ...]
    start: date
    every_days: int
    begins: time
    ends: time
    weekdays: frozenset[int] = frozenset(range(7))  # days a shift may start on, Monday = 0
    until: date | None = None  # first day with no shift of this rotation
    label: str = ""

    def member_on(self, day: date) -> str | None:
        """Who holds the shift that starts on `day`, or None if the rotation has no shift starting then."""
        if day < self.start or (self.until is not None and day >= self.until) or day.weekday() not in self.weekdays:
            return None
        turn = (day - self.start).days // self.every_days
        return self.members[turn % len(self.members)]

    @property
    def crosses_midnight(self) -> bool:
        return self.ends <= self.begins


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    phone: str = ""
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_ZONE))
    supervisors: tuple[str, ...] = ()
    members: tuple[str, ...] = ()  # everyone paged by a "unit" step: listed members plus rotation and calendar people
    policy: tuple[EscalationStep, ...] = DEFAULT_POLICY
    office_hours: OfficeHours | None = None
    rotations: tuple[Rotation, ...] = ()
    calendar: str | None = None  # file name of an .ics in the roster folder


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    office_unit: str | None = None  # answers in its office hours
    other_unit: str = ""  # answers at all other times


@dataclass(frozen=True)
class Override:
    """`user` covers `role` in `unit` for [start, end), whatever the rotations say. Made and stored by the runtime."""

    user: str
    name: str
    unit: str
    role: str
    start: datetime
    end: datetime
    id: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Shift:
    """One person holding one role for [start, end), in the unit's time zone.

    Compare and subtract via `.timestamp()` or `duration`: datetimes sharing a tzinfo compare by wall clock.
    """

    unit: str
    role: str
    user: str
    name: str
    start: datetime
    end: datetime
    source: str  # "rotation" | "override" | "calendar"

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.end.timestamp() - self.start.timestamp())


@dataclass(frozen=True)
class Gap:
    """No primary on call for `area` during [start, end)."""

    area: str
    start: datetime
    end: datetime
