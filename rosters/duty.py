"""Who holds each role of one unit: at an instant (fast, for paging) and over a range (for tables, .ics and gaps).

A unit with office hours is on duty only while its office is open: its shifts are cut to opening hours, so that
tables and calendars show when people really answer. (The loader makes sure such a unit only answers in office hours.)

Precedence, highest first: override, leave, rotation, calendar. A rotation's holder on leave is covered by the next
member in turn who is not (rosters/leave.py); a calendar event of someone on leave does not hold. Among overlapping
overrides, and among overlapping calendar events, the one that started last wins, then the one given later.
Rotations of one role never overlap (the loader refuses that), so at most one rotation holds a role at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rosters.ics_import import UnitCalendar
from rosters.layering import Piece, paint
from rosters.leave import LeaveBook
from rosters.model import ROLES, Override, Shift, Unit
from rosters.office import OfficeClock
from rosters.rotations import RotationClock
from rosters.wallclock import local

Holder = tuple[str, str | None]  # user, and a display name if the source gives one (an override does)
# user, display name or None, source ("calendar" | "rotation" | "override"), whom they cover for on leave, and the
# rotation's label
Held = tuple[str, str | None, str, str, str]


class UnitDuty:
    __slots__ = ("_by_role", "_leave", "calendar", "leave", "office", "unit")

    def __init__(self, unit: Unit, calendar: UnitCalendar | None, leave: LeaveBook | None = None) -> None:
        self.unit = unit
        self.calendar = calendar
        self.leave = leave or LeaveBook(())
        self._leave = self.leave if self.leave else None  # most rosters have none: lookups then skip asking
        self.office = OfficeClock(unit.office_hours, unit.tz) if unit.office_hours else None
        self._by_role: dict[str, tuple[RotationClock, ...]] = {
            role: tuple(RotationClock(r, unit.tz) for r in unit.rotations if r.role == role) for role in ROLES
        }

    @property
    def clocks(self) -> dict[str, tuple[RotationClock, ...]]:
        """role -> the clocks of that role's rotations."""
        return self._by_role

    def holders_at(self, ts: float, day_ordinal: int, overrides: Sequence[Override]) -> dict[str, Holder]:
        """role -> (user, name) for each role held at `ts`; `day_ordinal` is ts's day in the unit's zone."""
        held: dict[str, Holder] = {}
        leave = self._leave
        for role in ROLES:
            for clock in self._by_role[role]:
                order = clock.turn_at(ts, day_ordinal)
                if order is not None:
                    user = next((u for u in order if not leave.away(u, ts)), None) if leave else order[0]
                    if user is not None:
                        held[role] = (user, None)
                    break
            else:
                if self.calendar is not None:
                    user = self.calendar.user_at(role, ts)
                    if user is not None and not (leave and leave.away(user, ts)):
                        held[role] = (user, None)
        for role, override in active_overrides(overrides, self.unit.id, ts).items():
            held[role] = (override.user, override.name or None)
        return held

    def pieces(self, role: str, start_ts: float, end_ts: float, overrides: Sequence[Override]) -> list[Piece[Held]]:
        """The final holders of `role` over [start_ts, end_ts) as (start, end, (user, name-or-None, source)) pieces."""
        layers: list[Piece[Held]] = []
        if self.calendar is not None:
            slots = self.calendar.slots(start_ts, end_ts)
            for s, e, r, u, _ in slots:
                if r == role:
                    layers += [(a, b, (u, None, "calendar", "", "")) for a, b, _, _ in self.leave.cover((u,), s, e)]
        for clock in self._by_role[role]:
            label = clock.rotation.label
            for s, e, order in clock.turns(start_ts, end_ts):
                covered = self.leave.cover(order, s, e)
                layers += [(a, b, (u, None, "rotation", whose, label)) for a, b, u, whose in covered]
        mine = [(i, o) for i, o in enumerate(overrides) if o.unit == self.unit.id and o.role == role]
        mine.sort(key=lambda item: (item[1].start.timestamp(), item[0]))
        layers += [(o.start.timestamp(), o.end.timestamp(), (o.user, o.name, "override", "", "")) for _, o in mine]
        visible = [p for p in paint(layers) if p[0] < end_ts and p[1] > start_ts]
        return visible if self.office is None else _within(visible, self.office.intervals(start_ts, end_ts))

    def shifts(
        self, start_ts: float, end_ts: float, overrides: Sequence[Override], people: Mapping[str, str]
    ) -> list[Shift]:
        unit, out = self.unit, []
        for role in ROLES:
            for s, e, (user, name, source, covers, label) in self.pieces(role, start_ts, end_ts, overrides):
                display = name or people.get(user, user)
                start, end = local(s, unit.tz), local(e, unit.tz)
                out.append(Shift(unit.id, role, user, display, start, end, source, covers, label))
        out.sort(key=lambda shift: (shift.start.timestamp(), ROLES.index(shift.role)))
        return out


def _within(pieces: list[Piece[Held]], intervals: list[tuple[int, int]]) -> list[Piece[Held]]:
    """The parts of `pieces` inside `intervals` (both sorted, neither overlapping itself)."""
    out: list[Piece[Held]] = []
    for start, end, value in pieces:
        for lo, hi in intervals:
            if lo < end and hi > start:
                out.append((max(start, lo), min(end, hi), value))
    return out


def active_overrides(overrides: Sequence[Override], unit: str, ts: float) -> dict[str, Override]:
    """role -> the override in force for `unit` at `ts` (latest start wins, then the later one in the sequence)."""
    chosen: dict[str, tuple[float, Override]] = {}
    for override in overrides:
        if override.unit != unit:
            continue
        start = override.start.timestamp()
        if start <= ts < override.end.timestamp():
            best = chosen.get(override.role)
            if best is None or start >= best[0]:
                chosen[override.role] = (start, override)
    return {role: override for role, (_, override) in chosen.items()}
