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


PAY_CATEGORIES = ("big_holiday", "holiday", "weekend", "weekday_night")  # highest first (rosters/pay.py)


@dataclass(frozen=True)
class PayRules:
    """How a unit's on-call hours are paid: its categories, highest first, and the hours of its nights and weekends
    on its wall clock (rosters/pay.py)."""

    categories: tuple[str, ...] = PAY_CATEGORIES
    night: tuple[time, time] = (time(19), time(7))  # from an evening to the next morning
    weekend: tuple[int, time, int, time] = (4, time(19), 0, time(7))  # Friday 19:00 to Monday 07:00 (Monday = 0)


@dataclass(frozen=True)
class OfficeHours:
    """When a district office answers: per weekday, closed on holidays, optionally closing early the day before one."""

    weekly: tuple[tuple[time, time] | None, ...]  # Monday first; None: closed that weekday
    before_holiday_close: time | None = None
    closed_on_holidays: bool = True


@dataclass(frozen=True)
class MemberChange:
    """From the shift starting on `since`, the rotation's members are `members`.

    The change never rewrites a shift that started before `since`, and the person holding the turn on `since`
    keeps the rest of that turn if they are still a member (as GoAlert keeps the current person): only then does
    the new order take over. A person no longer a member hands over at `since` to the new list's first member,
    who keeps the turn until its usual end. Handoffs stay on the days they were.
    """

    since: date
    members: tuple[str, ...]


@dataclass(frozen=True)
class Rotation:
    """Members take turns on a daily shift window; the handoff is at the window's start, on the wall clock.

    A member holds `every_days` consecutive shifts, then the next member takes over, starting with members[0] on
    `start`. A window whose end is not after its start crosses midnight; equal ends mean round the clock.
    `changes`, sorted by date, replace the members from a stated day on (see MemberChange).
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
    changes: tuple[MemberChange, ...] = ()

    def member_on(self, day: date) -> str | None:
        """Who holds the shift that starts on `day`, or None if the rotation has no shift starting then."""
        order = self.turn_order(day)
        return order[0] if order else None

    def turn_order(self, day: date) -> tuple[str, ...]:
        """The holder of `day`'s shift first, then the members after them in turn order, each once; empty if the
        rotation has no shift starting that day. Whoever is next takes the turn of someone on leave."""
        if day < self.start or (self.until is not None and day >= self.until) or day.weekday() not in self.weekdays:
            return ()
        members, anchor, first = self.members, self.start, 0  # `first` holds the turn that begins at `anchor`
        for change in self.changes:
            if change.since > day:
                break
            turn = (change.since - anchor).days // self.every_days
            holder = members[(first + turn) % len(members)]
            # Handoffs stay on the same days. The holder keeps the rest of their turn and the new order follows
            # them; one no longer a member hands the rest of it to the new list's first member.
            anchor = anchor + timedelta(days=turn * self.every_days)
            first = change.members.index(holder) if holder in change.members else 0
            members = change.members
        index = (first + (day - anchor).days // self.every_days) % len(members)
        return tuple(dict.fromkeys(members[index:] + members[:index]))

    @property
    def everyone(self) -> tuple[str, ...]:
        """Every person this rotation ever puts on duty, in order of first mention."""
        return tuple(dict.fromkeys([*self.members, *(m for c in self.changes for m in c.members)]))

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
    min_rest_s: float | None = None  # `roster check` reports shorter rest before this unit's shifts
    file: str = ""  # the roster file it is written in, for messages
    responders_needed: int = 1  # how many go out together: an alarm is taken when that many have accepted
    pay: PayRules = PayRules()  # how its on-call hours are split for pay


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    office_unit: str | None = None  # answers in its office hours
    other_unit: str = ""  # answers at all other times


@dataclass(frozen=True)
class Override:
    """`user` covers `role` in `unit` for [start, end), whatever the rotations say and whoever is on leave.

    Made in chat (stored by the runtime, id "B12") or written in a unit's file (id "farsta.toml#1")."""

    user: str
    name: str
    unit: str
    role: str
    start: datetime
    end: datetime
    id: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Leave:
    """`user` is away for [start, end): their rotations skip them (the next member in turn covers), calendar
    events naming them do not hold, and the "unit" step and the supervisor fallback leave them out. An override
    naming them still holds: a supervisor's explicit choice wins (override > leave > rotation)."""

    user: str
    start: datetime
    end: datetime
    reason: str = ""
    entry: str = ""  # where it was written, e.g. "people.toml: leave #2", for messages


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
    covers: str = ""  # the user on leave whose turn this is, when a rotation's next member stands in
    label: str = ""  # the rotation's name ("Natt"), if it has one

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.end.timestamp() - self.start.timestamp())


@dataclass(frozen=True)
class Gap:
    """No primary on call for `area` during [start, end)."""

    area: str
    start: datetime
    end: datetime
