"""What handlers reach the runtime through (bot/core/desks.py), and who has which role.

Roles come from configuration and the rosters, never from what a message claims.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.alarm.phases import PhaseService
from bot.alarm.service import AlarmService
from bot.core.desks import (
    AlarmDesk,
    CheckinDesk,
    EvaluationDesk,
    HandoverDesk,
    NoCheckins,
    OverrideBook,
    PhaseDesk,
    TrustDesk,
    WebLogin,
)
from bot.core.roles import Role
from bot.names import Names
from bot.store import Store
from rosters import Override, Roster


class StoredOverrides:
    """Roster overrides made in chat, each written together with its audit entry."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, override: Override, by: str, now: datetime) -> Override:
        stored = self.store.overrides.add(override, by, now)
        self.store.audit.append(by, "override.added", stored.id or "",
                                {"user": stored.user, "unit": stored.unit, "role": stored.role,
                                 "start": stored.start.isoformat(), "end": stored.end.isoformat()})
        return stored

    def remove(self, override_id: str, by: str, now: datetime) -> bool:
        if not self.store.overrides.remove(override_id, now):
            return False
        self.store.audit.append(by, "override.removed", override_id)
        return True

    def active(self) -> list[Override]:
        return self.store.overrides.active()

    def current(self, now: datetime) -> list[Override]:
        return [o for o in self.active() if o.end > now]


class RuntimeServices:
    def __init__(self, roster: Callable[[], Roster], alarms: AlarmService, overrides: StoredOverrides,
                 police: Sequence[str], extra_supervisors: Sequence[str], phases: PhaseService, *,
                 handovers: HandoverDesk, evaluation: EvaluationDesk, trust: TrustDesk,
                 checkins: CheckinDesk | None = None, web: WebLogin | None = None, names: Names | None = None) -> None:
        self._trust = trust
        self._names = names or Names(roster)
        self._handovers = handovers
        self._evaluation = evaluation
        self._checkins = checkins or NoCheckins()
        self._web = web
        self._roster = roster
        self._phases = phases
        self._alarms = alarms
        self._overrides = overrides
        self._police = frozenset(police)
        self._extra_supervisors = frozenset(extra_supervisors)

    @property
    def roster(self) -> Roster:
        return self._roster()

    @property
    def alarms(self) -> AlarmDesk:
        return self._alarms

    @property
    def overrides(self) -> OverrideBook:
        return self._overrides

    @property
    def phases(self) -> PhaseDesk:
        return self._phases

    @property
    def handovers(self) -> HandoverDesk:
        return self._handovers

    @property
    def evaluation(self) -> EvaluationDesk:
        return self._evaluation

    @property
    def checkins(self) -> CheckinDesk:
        return self._checkins

    @property
    def web(self) -> WebLogin | None:
        return self._web

    @property
    def trust(self) -> TrustDesk:
        return self._trust

    def name_of(self, user_id: str, room_id: str | None = None) -> str:
        return self._names.name(user_id, room_id)

    def contact(self, area: str | None, now: datetime) -> tuple[str, str]:
        """Whom the police should call and the number: the unit on call now for `area`, or, without one, the unit
        most areas fall back on (the city-wide duty unit)."""
        roster = self.roster
        if area is not None and area in roster.areas:
            chain = roster.who(area, now, self._overrides.active())
            return chain.unit_name, chain.unit_phone
        fallback = Counter(a.other_unit for a in roster.areas.values()).most_common(1)
        unit = roster.units.get(fallback[0][0]) if fallback else None
        unit = unit or next(iter(roster.units.values()))
        return unit.name, unit.phone

    @property
    def city_wide(self) -> frozenset[str]:
        """The supervisors config.toml names (`roles.supervisors`): they supervise every unit."""
        return self._extra_supervisors

    def supervisors(self) -> set[str]:
        """Everyone who supervises any unit: the rosters' supervisors and those configured beside them."""
        return set(self.roster.supervisors()) | self._extra_supervisors

    def roles_of(self, user: str) -> frozenset[Role]:
        roster = self.roster
        roles: set[Role] = set()
        if user in self._police:
            roles.add(Role.POLICE)
        if user in self._extra_supervisors or user in roster.supervisors():
            roles.add(Role.SUPERVISOR)
        if user in roster.members():
            roles.add(Role.RESPONDER)
        return frozenset(roles)
