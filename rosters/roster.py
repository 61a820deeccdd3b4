"""The roster: areas, the units that answer for them, and who in a unit is on call at any instant."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from rosters.chain import Chain, ChainStep, OnCall
from rosters.duty import UnitDuty
from rosters.errors import UnknownArea, UnknownUnit
from rosters.ics_import import UnitCalendar
from rosters.leave import LeaveBook
from rosters.model import DEFAULT_ZONE, Area, EscalationStep, Leave, Override, Person, Shift, Unit
from rosters.names import normalize
from rosters.wallclock import local, local_day, require_aware


class Roster:
    """Immutable once built; lookups fill per-day caches, so one Roster should live as long as its files do."""

    def __init__(
        self,
        units: Mapping[str, Unit],
        areas: Mapping[str, Area],
        people: Mapping[str, str],
        calendars: Mapping[str, UnitCalendar] | None = None,
        persons: Mapping[str, Person] | None = None,
        overrides: Sequence[Override] = (),
        leave: Sequence[Leave] = (),
        police: Mapping[str, Person] | None = None,
    ) -> None:
        calendars = calendars or {}
        # Officers from police.toml: a name and a phone number for whoever takes their alarm, and no role.
        self.police: Mapping[str, Person] = MappingProxyType(dict(police or {}))
        self.file_overrides: tuple[Override, ...] = tuple(overrides)  # written in the unit files
        self.leave: tuple[Leave, ...] = tuple(leave)  # written in people.toml
        self._leave = LeaveBook(self.leave)
        self._any_leave = bool(self._leave)
        self.units: Mapping[str, Unit] = MappingProxyType(dict(units))
        self.areas: Mapping[str, Area] = MappingProxyType(dict(areas))
        self.people: Mapping[str, str] = MappingProxyType(dict(people))  # user -> display name
        known = persons or {}
        self.persons: Mapping[str, Person] = MappingProxyType(
            {user: known.get(user) or Person(user, name) for user, name in self.people.items()}
        )
        self._duty = {uid: UnitDuty(unit, calendars.get(uid), self._leave) for uid, unit in self.units.items()}
        self._office_of = {
            a.id: office
            for a in self.areas.values()
            if a.office_unit in self._duty and (office := self._duty[a.office_unit].office) is not None
        }
        self._area_keys: dict[str, Area] = {}
        for area in self.areas.values():
            for text in (area.id, area.name, *area.aliases):
                self._area_keys.setdefault(normalize(text), area)
        self._unit_keys = {normalize(t): u for u in self.units.values() for t in (u.id, u.name)}
        # The most typed words a name can take: its words, each perhaps with a stray dash or dot typed apart. Looking
        # further into a message would only cost time, and a very long free text would cost a lot of it.
        self.longest_name = 2 * max((len(k.split()) for k in [*self._area_keys, *self._unit_keys]), default=1) + 1
        self._typed: dict[str, Area] = {}  # exactly as typed -> area, so repeated lookups skip normalising
        self._oncall: dict[tuple[str, str, str], OnCall] = {}
        self._steps: dict[tuple[EscalationStep, tuple[OnCall, ...]], ChainStep] = {}
        self._member_sets = {uid: frozenset(u.members) for uid, u in self.units.items()}
        self._unit_steps: dict[tuple[str, EscalationStep, frozenset[str]], ChainStep] = {}

    def with_leave(self, extra: Sequence[Leave]) -> Roster:
        """This roster with `extra` leave beside that written in people.toml (the bot's stored leave): a new Roster,
        since lookups cache per day; the files' own leave stays as it is."""
        if not extra:
            return self
        calendars = {uid: duty.calendar for uid, duty in self._duty.items() if duty.calendar is not None}
        return Roster(self.units, self.areas, self.people, calendars, self.persons, self.file_overrides,
                      (*self.leave, *extra), self.police)

    # -- areas and units by name --------------------------------------------------------------------------------

    def find_area(self, text: str) -> Area | None:
        """The area whose id, name or alias `text` is, ignoring case, diacritics and punctuation."""
        found = self._typed.get(text)
        if found is None:
            found = self._area_keys.get(normalize(text))
            if found is not None:
                self._typed[text] = found
        return found

    def split_area(self, text: str) -> tuple[Area, str] | None:
        """The area named by the longest run of leading words of `text`, and the rest: "Farsta strand 14:00"."""
        words = text.split(maxsplit=self.longest_name)
        for count in range(min(len(words), self.longest_name), 0, -1):
            area = self._area_keys.get(normalize(" ".join(words[:count])))
            if area is not None:
                return area, " ".join(words[count:])
        return None

    def suggest_areas(self, text: str, n: int = 3) -> list[str]:
        """Display names of the areas whose names or aliases are nearest to `text`, nearest first."""
        return _nearest(normalize(text[:200]), {k: a.name for k, a in self._area_keys.items()}, n)

    def find_unit(self, text: str) -> Unit | None:
        return self._unit_keys.get(normalize(text))

    def unit(self, text: str) -> Unit:
        unit = self.find_unit(text)
        if unit is None:
            ids = {k: u.id for k, u in self._unit_keys.items()}
            raise UnknownUnit(text, _nearest(normalize(text), ids, 3) or sorted(self.units))
        return unit

    def area_zone(self, area: Area) -> ZoneInfo:
        """The zone a local time typed for `area` is read in: that of the unit answering outside office hours."""
        unit = self.units.get(area.other_unit)
        return unit.tz if unit else ZoneInfo(DEFAULT_ZONE)

    @property
    def default_zone(self) -> ZoneInfo:
        return next((u.tz for u in self.units.values()), ZoneInfo(DEFAULT_ZONE))

    # -- people -------------------------------------------------------------------------------------------------

    def phone(self, user: str) -> str | None:
        """`user`'s own phone number (E.164) from people.toml, or for an officer from police.toml, if one is given."""
        person = self.persons.get(user) or self.police.get(user)
        return person.phone if person else None

    def name(self, user: str) -> str | None:
        """What people call `user`: their name in people.toml, or for an officer in police.toml."""
        known = self.people.get(user)
        if known:
            return known
        officer = self.police.get(user)
        return officer.name if officer else None

    def supervisors(self, unit: str | None = None) -> set[str]:
        """The static supervisors of `unit`, or of every unit; supervisor rotations only ever hold these people."""
        return {s for u in self._units_named(unit) for s in u.supervisors}

    def members(self, unit: str | None = None) -> set[str]:
        """Everyone paged by the "unit" step of `unit`, or of every unit."""
        return {m for u in self._units_named(unit) for m in u.members}

    def _units_named(self, unit: str | None) -> list[Unit]:
        return list(self.units.values()) if unit is None else [self.unit(unit)]

    # -- who is on call -----------------------------------------------------------------------------------------

    def unit_at(self, area: Area, ts: float) -> str:
        office = self._office_of.get(area.id)
        if office is not None and office.is_open(ts, local_day(ts, office.tz)):
            return area.office_unit or area.other_unit
        return area.other_unit

    def who(self, area: str, at: datetime, overrides: Sequence[Override] = ()) -> Chain:
        """The escalation chain for `area` at the aware instant `at`.

        Each person appears once, in the first step that names them: someone already paged stays paged, so a later
        step (above all "unit", everyone in the unit) adds only people not yet paged, and may end up empty.
        A "supervisor" step pages the supervisor on duty (override, rotation or calendar) and, when nobody is on
        duty, the unit's static supervisors, so that the last human step is never empty by accident.
        Overrides written in the files come first, `overrides` (made in chat) after them, so a later one wins a tie.
        People on leave are left out of the "unit" step and of the supervisors paged for want of one on duty.
        """
        found = self.find_area(area)
        if found is None:
            raise UnknownArea(area, self.suggest_areas(area))
        ts = require_aware(at)
        unit = self.units[self.unit_at(found, ts)]
        held = self._duty[unit.id].holders_at(ts, local_day(ts, unit.tz), self._all(overrides))
        paged: set[str] = set()  # also those on leave: they are not paged
        if self._any_leave:
            paged = {u for u in self._member_sets[unit.id] | set(unit.supervisors) if self._leave.away(u, ts)}
            paged -= {user for user, _ in held.values()}  # an override names them: that holds, leave or not
        steps = []
        for step in unit.policy:
            role = step.role
            if role == "unit":
                chain_step = self._unit_step(unit, step, paged)
                paged |= self._member_sets[unit.id]
            else:
                if role in held:
                    candidates: tuple[tuple[str, str | None], ...] = (held[role],)
                elif role == "supervisor":
                    candidates = tuple((user, None) for user in unit.supervisors)
                else:
                    candidates = ()
                people = tuple(self._person(role, user, name) for user, name in candidates if user not in paged)
                chain_step = self._step(step, people)
                paged.update(p.user for p in people)
            steps.append(chain_step)
        return Chain(found.id, found.name, at, unit.id, unit.name, unit.phone, tuple(steps))

    def _all(self, overrides: Sequence[Override]) -> Sequence[Override]:
        file_overrides = self.file_overrides
        return (*file_overrides, *overrides) if file_overrides else overrides

    def holders(self, unit: str, at: datetime, overrides: Sequence[Override] = ()) -> dict[str, str]:
        """role -> the user holding it in `unit` at `at`, after overrides and leave (no fallback to supervisors)."""
        found = self.unit(unit)
        ts = require_aware(at)
        held = self._duty[found.id].holders_at(ts, local_day(ts, found.tz), self._all(overrides))
        return {role: user for role, (user, _) in held.items()}

    def away(self, user: str, at: datetime) -> bool:
        """Whether `user` is on leave at `at`."""
        return self._leave.away(user, require_aware(at))

    def _person(self, role: str, user: str, name: str | None) -> OnCall:
        key = (role, user, name or "")
        person = self._oncall.get(key)
        if person is None:
            person = self._oncall[key] = OnCall(role, user, name or self.people.get(user, user))
        return person

    def _unit_step(self, unit: Unit, step: EscalationStep, paged: set[str]) -> ChainStep:
        """Everyone in the unit not paged yet; cached by who was, since a unit may have hundreds of members."""
        excluded = frozenset(paged & self._member_sets[unit.id])
        key = (unit.id, step, excluded)
        found = self._unit_steps.get(key)
        if found is None:
            people = tuple(self._person("unit", user, None) for user in unit.members if user not in excluded)
            found = self._unit_steps[key] = ChainStep(step.role, step.wait_s, people)
        return found

    def _step(self, step: EscalationStep, people: tuple[OnCall, ...]) -> ChainStep:
        key = (step, people)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = ChainStep(step.role, step.wait_s, people)
        return found

    # -- over a range -------------------------------------------------------------------------------------------

    def shifts(self, unit: str, start: datetime, end: datetime, overrides: Sequence[Override] = ()) -> list[Shift]:
        """Every shift of `unit` overlapping [start, end), after overrides (those in the files, then `overrides`)
        and leave; an override splits what it covers, and so does leave."""
        found = self.unit(unit)
        lo, hi = require_aware(start), require_aware(end)
        return self._duty[found.id].shifts(lo, hi, self._all(overrides), self.people)

    def rotation_turns(self, unit: str, start: datetime, end: datetime) -> list[tuple[str, float, float, str]]:
        """(role, start, end, holder) of each rotation turn of `unit` overlapping [start, end), as the rotations
        alone assign them: before leave and overrides, which are not changes of a rotation."""
        found = self.unit(unit)
        lo, hi = require_aware(start), require_aware(end)
        return [(role, s, e, order[0]) for role, clocks in self._duty[found.id].clocks.items()
                for clock in clocks for s, e, order in clock.turns(lo, hi)]

    def person_shifts(
        self, user: str, start: datetime, end: datetime, overrides: Sequence[Override] = ()
    ) -> list[Shift]:
        out = [s for uid in self.units for s in self.shifts(uid, start, end, overrides) if s.user == user]
        out.sort(key=lambda s: s.start.timestamp())
        return out

    def coverage(self, area: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
        """(from, to, unit id) for who answers for `area` over [start, end), clipped to it, in order."""
        found = self.find_area(area)
        if found is None:
            raise UnknownArea(area, self.suggest_areas(area))
        lo, hi = require_aware(start), require_aware(end)
        tz = self.area_zone(found)
        office = self._office_of.get(found.id)
        opened = office.intervals(lo, hi) if office else []
        out: list[tuple[float, float, str]] = []
        cursor = lo
        for opens, closes in opened:
            a, b = max(opens, lo), min(closes, hi)
            if a > cursor:
                out.append((cursor, a, found.other_unit))
            out.append((a, b, found.office_unit or found.other_unit))
            cursor = b
        if cursor < hi:
            out.append((cursor, hi, found.other_unit))
        return [(local(a, tz), local(b, tz), uid) for a, b, uid in out]


def _nearest(key: str, names: dict[str, str], n: int) -> list[str]:
    """Display names for the keys nearest `key`: first those it begins, then by similarity."""
    ranked = [k for k in names if key and k.startswith(key)]
    ranked += difflib.get_close_matches(key, list(names), n=len(names), cutoff=0.6)
    out: list[str] = []
    for k in ranked:
        if names[k] not in out:
            out.append(names[k])
    return out[:n]
