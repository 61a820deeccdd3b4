"""Turns already begun that a changed roster would give to someone else.

A rotation's members change from a stated day ([[rotation.change]]); a turn that has begun keeps its holder, as
GoAlert keeps the current person. Editing `members` in place instead would rewrite who was, and who is, on call:
the paging history would no longer match the roster, and the person on call now would change without being told.
Leave and overrides are not rotation changes and are compared apart from this (an override is how to change now).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rosters.findings import stamp
from rosters.roster import Roster
from rosters.wallclock import local

LOOK_BACK = timedelta(days=7)


def rewritten_turns(before: Roster, after: Roster, now: datetime) -> list[str]:
    """One line per unit and role whose turns begun before `now` (within a week back) `after` gives to someone
    else or drops: the latest such turn, and how many earlier ones."""
    problems = []
    for uid, unit in after.units.items():
        if uid not in before.units:
            continue
        new = {(role, s): user for role, s, _, user in after.rotation_turns(uid, now - LOOK_BACK, now)}
        changed: dict[str, list[tuple[float, float, str, str | None]]] = {}
        for role, start, end, user in before.rotation_turns(uid, now - LOOK_BACK, now):
            if start <= now.timestamp() and new.get((role, start)) != user:
                changed.setdefault(role, []).append((start, end, user, new.get((role, start))))
        for role, turns in changed.items():
            start, end, user, becomes = max(turns)
            was = before.people.get(user, user)
            other = f"{after.people.get(becomes, becomes)}'s" if becomes else "nobody's"
            tense = "is" if end > now.timestamp() else "was"
            earlier = f" (and {len(turns) - 1} earlier)" if len(turns) > 1 else ""
            problems.append(
                f"{unit.file or uid}: the {role} shift from {stamp(local(start, unit.tz))}{earlier} {tense} {was}'s and"
                f" would become {other}: a shift already begun is not rewritten. Change members from a coming day"
                " with [[rotation.change]]; cover today with an [[override]] (or !byt)"
            )
    return problems
