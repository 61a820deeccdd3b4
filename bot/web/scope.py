"""What a supervisor sees and changes in the browser: the units they supervise (a unit's `supervisors` in the rosters),
or everything when they are configured city-wide (`roles.supervisors` in config.toml).

Within the units supervised:
- a unit's week, month, calendar feed and overrides;
- an alarm its unit answered, or that is handed over to it (the area's district office);
- an area one of the units answers for (its district office or its round-the-clock unit);
- a person who works in one of the units (a member, a rotation's or calendar's person, or a supervisor there):
  their leave, their calendar feed, a confirmation of their changed identity.

Asked again at every request, from the roster in force, so someone who stops supervising a unit loses it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from rosters import Roster


@dataclass(frozen=True)
class Scope:
    units: frozenset[str] | None  # None: city-wide

    @property
    def city_wide(self) -> bool:
        return self.units is None

    def unit(self, unit_id: str) -> bool:
        return self.units is None or unit_id in self.units

    def area(self, roster: Roster, area_id: str) -> bool:
        if self.units is None:
            return True
        area = roster.areas.get(area_id)
        return area is not None and bool({area.office_unit, area.other_unit} & self.units)

    def alarm(self, roster: Roster, unit_id: str, area_id: str) -> bool:
        """An alarm the unit `unit_id` answered in area `area_id`."""
        if self.units is None or unit_id in self.units:
            return True
        area = roster.areas.get(area_id)
        return area is not None and area.office_unit in self.units  # handed over to the district office

    def person(self, roster: Roster, user: str) -> bool:
        if self.units is None:
            return True
        return any(user in roster.members(u) or user in roster.supervisors(u) for u in self.units
                   if u in roster.units)


def scope_of(user: str, roster: Roster, city_wide: frozenset[str]) -> Scope:
    """`user`'s scope as a supervisor: city-wide if configured so, else the rosters' units naming them."""
    if user in city_wide:
        return Scope(None)
    return Scope(frozenset(uid for uid, unit in roster.units.items() if user in unit.supervisors))
