"""Leave: who is away when, and who stands in for them.

A rotation's next member in turn covers the part of a shift its holder is away for (the next after them if they
are away too); an override wins over leave, leave over the rotation (SPEC.md, "Leave").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rosters.model import Leave

Span = tuple[float, float]
Cover = tuple[float, float, str, str]  # start, end, who holds it, whose turn it was ("" when their own)


class LeaveBook:
    """Each person's leave as merged, sorted spans of Unix seconds."""

    __slots__ = ("_spans",)

    def __init__(self, leave: Iterable[Leave]) -> None:
        spans: dict[str, list[Span]] = {}
        for entry in leave:
            spans.setdefault(entry.user, []).append((entry.start.timestamp(), entry.end.timestamp()))
        self._spans = {user: _merge(found) for user, found in spans.items()}

    def __bool__(self) -> bool:
        return bool(self._spans)

    def away(self, user: str, ts: float) -> bool:
        return any(a <= ts < b for a, b in self._spans.get(user, ()))

    def away_during(self, user: str, start: float, end: float) -> list[Span]:
        """The parts of [start, end) that `user` is away for, in order."""
        return [(max(a, start), min(b, end)) for a, b in self._spans.get(user, ()) if a < end and b > start]

    def cover(self, order: Sequence[str], start: float, end: float) -> list[Cover]:
        """Who holds [start, end) of a turn whose holder is order[0]: the holder where present, elsewhere the first
        of the others in `order` who is; a stretch everyone is away for is left out (a gap the check reports)."""
        if not order:
            return []
        holder = order[0]
        return [(a, b, user, "" if user == holder else holder) for a, b, user in self._cover(order, start, end)]

    def _cover(self, order: Sequence[str], start: float, end: float) -> list[tuple[float, float, str]]:
        if not order:
            return []
        first, out, cursor = order[0], [], start
        for a, b in self.away_during(first, start, end):
            if a > cursor:
                out.append((cursor, a, first))
            out += self._cover(order[1:], a, b)
            cursor = b
        if cursor < end:
            out.append((cursor, end, first))
        return out


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        elif b > a:
            merged.append((a, b))
    return merged
