"""Figures for `!statistik` over the alarms raised in a period."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import datetime

from bot.alarm.machine import Alarm
from bot.core.figures import AreaFigures, Figures


def figures(alarms: Iterable[Alarm], start: datetime, end: datetime) -> Figures:
    """Alarms raised in [start, end).

    Time to acceptance runs from the raise to the (first) acceptance, in seconds, late acceptances after a fallback
    included; for a unit that goes out two by two, the time to the last acceptance it needed is counted beside it.
    The 90th percentile is the nearest-rank value, so it is always a time some alarm actually took.
    """
    chosen = [a for a in alarms if start <= a.raised_at < end]
    waits = sorted((a.accepted_at - a.raised_at).total_seconds() for a in chosen if a.accepted_at is not None)
    several = [a for a in chosen if a.needed > 1]
    filled = sorted((a.filled_at - a.raised_at).total_seconds() for a in several if a.filled_at is not None)
    per_area: dict[str, AreaFigures] = {}
    for a in sorted(chosen, key=lambda a: a.area):
        entry = per_area.get(a.area, AreaFigures(a.area_name))
        per_area[a.area] = AreaFigures(entry.name, entry.count + 1, entry.accepted + (a.accepted_at is not None))
    return Figures(
        count=len(chosen),
        accepted=len(waits),
        closed=sum(a.status == "closed" for a in chosen),
        cancelled=sum(a.status == "cancelled" for a in chosen),
        escalated=sum(a.escalations > 0 for a in chosen),
        escalations=sum(a.escalations for a in chosen),
        fallbacks=sum(a.fallback_at is not None for a in chosen),
        median_s=statistics.median(waits) if waits else None,
        p90_s=waits[math.ceil(0.9 * len(waits)) - 1] if waits else None,
        per_area=per_area,
        several=len(several),
        filled=len(filled),
        filled_median_s=statistics.median(filled) if filled else None,
        filled_p90_s=filled[math.ceil(0.9 * len(filled)) - 1] if filled else None,
    )
