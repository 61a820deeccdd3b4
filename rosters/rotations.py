"""One rotation's shifts as intervals of Unix seconds, one per local day the shift starts on."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from rosters.model import Rotation
from rosters.wallclock import handoff_instant, local_day

Slot = tuple[int, int, str]  # start, end (Unix seconds), user


class RotationClock:
    """Who this rotation puts on duty at an instant, from a per-day cache filled as days are asked about."""

    __slots__ = ("_days", "rotation", "tz")

    def __init__(self, rotation: Rotation, tz: tzinfo) -> None:
        self.rotation = rotation
        self.tz = tz
        self._days: dict[int, Slot | None] = {}

    def slot(self, day_ordinal: int) -> Slot | None:
        """The shift that starts on that local day, if the rotation has one."""
        try:
            return self._days[day_ordinal]
        except KeyError:
            slot = self._days[day_ordinal] = self._compute(date.fromordinal(day_ordinal))
            return slot

    def _compute(self, day: date) -> Slot | None:
        rotation = self.rotation
        user = rotation.member_on(day)
        if user is None:
            return None
        end_day = day + timedelta(days=1) if rotation.crosses_midnight else day
        return handoff_instant(day, rotation.begins, self.tz), handoff_instant(end_day, rotation.ends, self.tz), user

    def user_at(self, ts: float, day_ordinal: int) -> str | None:
        # A shift lasts at most a day, so only the one starting today or yesterday can hold `ts`.
        for day in (day_ordinal, day_ordinal - 1):
            slot = self.slot(day)
            if slot is not None and slot[0] <= ts < slot[1]:
                return slot[2]
        return None

    def slots(self, start_ts: float, end_ts: float) -> list[Slot]:
        """Shifts that overlap [start_ts, end_ts), in order."""
        first, last = local_day(start_ts, self.tz) - 1, local_day(end_ts, self.tz)
        found = (self.slot(day) for day in range(first, last + 1))
        return [s for s in found if s is not None and s[0] < end_ts and s[1] > start_ts and s[0] < s[1]]
