"""Gaps: stretches of time when an area has no primary on call. Found ahead, not met during an alarm."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rosters.model import Gap, Override
from rosters.roster import Roster
from rosters.wallclock import local


def find_gaps(roster: Roster, start: datetime, end: datetime, overrides: Sequence[Override] = ()) -> list[Gap]:
    """Every interval within [start, end) when some area's answering unit has no primary, by area then time."""
    covered: dict[str, list[tuple[float, float]]] = {}  # unit id -> its primary shifts
    gaps: list[Gap] = []
    for area in roster.areas.values():
        tz = roster.area_zone(area)
        holes: list[tuple[float, float]] = []
        for since, until, unit in roster.coverage(area.id, start, end):
            if unit not in covered:
                shifts = roster.shifts(unit, start, end, overrides)
                covered[unit] = [(s.start.timestamp(), s.end.timestamp()) for s in shifts if s.role == "primary"]
            holes += _uncovered(since.timestamp(), until.timestamp(), covered[unit])
        gaps += [Gap(area.id, local(a, tz), local(b, tz)) for a, b in merge_spans(holes)]
    return gaps


def _uncovered(lo: float, hi: float, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Parts of [lo, hi) that no span covers; `spans` are sorted and do not overlap."""
    holes, cursor = [], lo
    for a, b in spans:
        if b <= cursor or a >= hi:
            continue
        if a > cursor:
            holes.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < hi:
        holes.append((cursor, hi))
    return holes


def merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping or touching [a, b) spans joined, in order."""
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
