"""One rotation's shifts as intervals of Unix seconds, one per local day the shift starts on."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from rosters.model import Rotation
from rosters.wallclock import handoff_instant, local_day

Slot = tuple[int, int, str]  # start, end (Unix seconds), user
Turn = tuple[int, int, tuple[str, ...]]  # start, end, the holder and then whoever stands in for them, in order


class RotationClock:
    """Who this rotation puts on duty at an instant, from a per-day cache filled as days are asked about."""

    __slots__ = ("_days", "rotation", "tz")

    def __init__(self, rotation: Rotation, tz: tzinfo) -> None:
        self.rotation = rotation
        self.tz = tz
        self._days: dict[int, Turn | None] = {}

    def turn(self, day_ordinal: int) -> Turn | None:
        """The shift that starts on that local day, if the rotation has one."""
        try:
            return self._days[day_ordinal]
        except KeyError:
            turn = self._days[day_ordinal] = self._compute(date.fromordinal(day_ordinal))
            return turn

    def slot(self, day_ordinal: int) -> Slot | None:
        turn = self.turn(day_ordinal)
        return None if turn is None else (turn[0], turn[1], turn[2][0])

    def _compute(self, day: date) -> Turn | None:
        rotation = self.rotation
        order = rotation.turn_order(day)
        if not order:
            return None
        end_day = day + timedelta(days=1) if rotation.crosses_midnight else day
        return handoff_instant(day, rotation.begins, self.tz), handoff_instant(end_day, rotation.ends, self.tz), order

    def turn_at(self, ts: float, day_ordinal: int) -> tuple[str, ...] | None:
        """The turn order of the shift holding `ts`; None if no shift does."""
        # A shift lasts at most a day, so only the one starting today or yesterday can hold `ts`. The cache is read
        # directly: this runs for every role of every lookup.
        days = self._days
        for day in (day_ordinal, day_ordinal - 1):
            turn = days[day] if day in days else self.turn(day)
            if turn is not None and turn[0] <= ts < turn[1]:
                return turn[2]
        return None

    def user_at(self, ts: float, day_ordinal: int) -> str | None:
        order = self.turn_at(ts, day_ordinal)
        return order[0] if order else None

    def turns(self, start_ts: float, end_ts: float) -> list[Turn]:
        """Shifts that overlap [start_ts, end_ts), in order."""
        first, last = local_day(start_ts, self.tz) - 1, local_day(end_ts, self.tz)
        found = (self.turn(day) for day in range(first, last + 1))
        return [t for t in found if t is not None and t[0] < end_ts and t[1] > start_ts and t[0] < t[1]]

    def slots(self, start_ts: float, end_ts: float) -> list[Slot]:
        return [(s, e, order[0]) for s, e, order in self.turns(start_ts, end_ts)]


def first_overlap(a: Rotation, b: Rotation) -> date | None:
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
