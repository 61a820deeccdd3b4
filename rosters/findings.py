"""What `roster check` finds ahead of time besides gaps: a step of an escalation chain that resolves to nobody or
to someone already earlier in it, one person on two shifts at once (also in two units), and rest between one
person's shifts shorter than a unit's `min_rest_hours`.

Only shifts that can page someone count: a unit's shift while the unit answers for at least one area (a city-wide
duty unit's day shift does not clash with a district office's shift while that office answers for every area).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from rosters.chain import Chain
from rosters.gaps import find_gaps, merge_spans
from rosters.model import Gap, Override, Shift
from rosters.roster import Roster
from rosters.wallclock import local

Span = tuple[float, float]


@dataclass(frozen=True)
class Finding:
    """One thing `roster check` reports, over [start, end). `kind`: "gap" | "step" | "overlap" | "rest".

    `subject` is what it is about (an area, unit or person id); `text` is the English line the command prints
    after its kind ("GAP", "STEP", ...), stable for the same finding, so two checks can be compared line by line.
    """

    kind: str
    subject: str
    start: datetime
    end: datetime
    text: str

    @property
    def line(self) -> str:
        return f"{self.kind.upper()} {self.text}"


CHECK_DAYS = 30  # how far ahead `roster check`, a reload and the web view's check page look


def check_roster(roster: Roster, start: datetime, end: datetime, overrides: Sequence[Override] = ()) -> list[Finding]:
    """Every gap, step, overlap and rest finding in [start, end), in that order, each kind by subject and time."""
    found = [_gap(roster, gap) for gap in find_gaps(roster, start, end, overrides)]
    found += _steps(roster, start, end, overrides)
    live = _live_shifts(roster, start, end, overrides)
    found += _overlaps(roster, live)
    found += _short_rest(roster, live)
    return found


# -- gaps -----------------------------------------------------------------------------------------------------------


def _gap(roster: Roster, gap: Gap) -> Finding:
    area = roster.areas[gap.area]
    text = f"{area.name} ({area.id}): no primary from {_span(gap.start, gap.end)}"
    return Finding("gap", area.id, gap.start, gap.end, text)


# -- steps ----------------------------------------------------------------------------------------------------------


def _steps(roster: Roster, start: datetime, end: datetime, overrides: Sequence[Override]) -> list[Finding]:
    """Steps that page nobody new, found at each instant the chain can change (a shift, leave or opening boundary),
    merged over time and over the areas that share a unit."""
    spans: dict[tuple[str, int, str], list[Span]] = {}
    shifts = {uid: roster.shifts(uid, start, end, overrides) for uid in roster.units}
    leave_edges = {t for leave in roster.leave for t in (leave.start.timestamp(), leave.end.timestamp())}
    for area in roster.areas.values():
        for since, until, uid in roster.coverage(area.id, start, end):
            first, last = since.timestamp(), until.timestamp()
            edges = {first, last} | {t for t in leave_edges if first < t < last}
            for shift in shifts[uid]:
                edges |= {t for t in (shift.start.timestamp(), shift.end.timestamp()) if first < t < last}
            ordered = sorted(edges)
            for a, b in zip(ordered, ordered[1:], strict=False):
                at = local(a, roster.units[uid].tz)
                for index, why in _empty_steps(roster, roster.who(area.id, at, overrides), at, overrides):
                    spans.setdefault((uid, index, why), []).append((a, b))
    found = []
    for (uid, index, why), pieces in sorted(spans.items()):
        unit = roster.units[uid]
        step = unit.policy[index]
        for a, b in merge_spans(pieces):
            lo, hi = local(a, unit.tz), local(b, unit.tz)
            text = f"{unit.name} ({uid}): step {index + 1} ({step.role}) {why} from {_span(lo, hi)}"
            found.append(Finding("step", uid, lo, hi, text))
    found.sort(key=lambda f: (f.subject, f.start.timestamp()))
    return found


def _empty_steps(roster: Roster, chain: Chain, at: datetime, overrides: Sequence[Override]) -> list[tuple[int, str]]:
    """(step index, why) for each step after the first that pages nobody new (an empty primary is a gap)."""
    unit = roster.units[chain.unit]
    held = roster.holders(unit.id, at, overrides)
    earlier: dict[str, str] = {}  # user -> the step that pages them
    out = []
    for index, step in enumerate(chain.steps):
        if not step.people and index > 0 and step.role != "primary":
            if step.role == "unit":
                wanted = [m for m in unit.members if not roster.away(m, at)]
            elif step.role in held:
                wanted = [held[step.role]]
            elif step.role == "supervisor":
                wanted = [s for s in unit.supervisors if not roster.away(s, at)]
            else:
                wanted = []
            repeated = [u for u in wanted if u in earlier]
            if repeated and step.role == "unit":  # names would split one finding at every turn of the rotations
                out.append((index, "pages nobody new: everyone in the unit is already earlier in the chain,"))
            elif repeated:
                names = ", ".join(f"{roster.people.get(u, u)} (step {earlier[u]})" for u in repeated)
                out.append((index, f"pages only people already earlier in the chain: {names},"))
            else:
                out.append((index, "resolves to nobody"))
        for person in step.people:
            earlier.setdefault(person.user, f"{index + 1}, {step.role}")
    return out


# -- overlaps and rest ----------------------------------------------------------------------------------------------


def _live_shifts(roster: Roster, start: datetime, end: datetime, overrides: Sequence[Override]) -> list[Shift]:
    """Every unit's shifts cut to when the unit answers for some area."""
    answering: dict[str, list[Span]] = {}
    for area in roster.areas.values():
        for since, until, uid in roster.coverage(area.id, start, end):
            answering.setdefault(uid, []).append((since.timestamp(), until.timestamp()))
    out = []
    for uid, pieces in answering.items():
        tz = roster.units[uid].tz
        windows = merge_spans(pieces)
        for shift in roster.shifts(uid, start, end, overrides):
            s, e = shift.start.timestamp(), shift.end.timestamp()
            for lo, hi in windows:
                if lo < e and hi > s:
                    a, b = max(s, lo), min(e, hi)
                    out.append(replace(shift, start=local(a, tz), end=local(b, tz)))
    out.sort(key=lambda s: (s.user, s.start.timestamp()))
    return out


def _by_user(shifts: list[Shift]) -> dict[str, list[Shift]]:
    out: dict[str, list[Shift]] = {}
    for shift in shifts:
        out.setdefault(shift.user, []).append(shift)
    return out


def _overlaps(roster: Roster, live: list[Shift]) -> list[Finding]:
    found = []
    for user, shifts in sorted(_by_user(live).items()):
        clashes: dict[tuple[str, str], list[Span]] = {}
        for i, first in enumerate(shifts):
            for second in shifts[i + 1 :]:
                if second.start.timestamp() >= first.end.timestamp():
                    break
                if (first.unit, first.role) == (second.unit, second.role):
                    continue
                pair = tuple(sorted((_shift_label(roster, first), _shift_label(roster, second))))
                a = max(first.start.timestamp(), second.start.timestamp())
                b = min(first.end.timestamp(), second.end.timestamp())
                clashes.setdefault((pair[0], pair[1]), []).append((a, b))
        tz = roster.default_zone
        for (one, other), pieces in sorted(clashes.items()):
            for a, b in merge_spans(pieces):
                lo, hi = local(a, tz), local(b, tz)
                who = f"{roster.people.get(user, user)} ({user})"
                found.append(Finding("overlap", user, lo, hi, f"{who}: {one} and {other} at once from {_span(lo, hi)}"))
    found.sort(key=lambda f: (f.subject, f.start.timestamp()))
    return found


def _short_rest(roster: Roster, live: list[Shift]) -> list[Finding]:
    found = []
    for user, shifts in sorted(_by_user(live).items()):
        stretches: list[tuple[float, float, Shift]] = []  # on duty without a break; the shift that began it
        for shift in shifts:
            s, e = shift.start.timestamp(), shift.end.timestamp()
            if stretches and s <= stretches[-1][1]:
                stretches[-1] = (stretches[-1][0], max(e, stretches[-1][1]), stretches[-1][2])
            else:
                stretches.append((s, e, shift))
        for (_, ended, _), (began, _, shift) in zip(stretches, stretches[1:], strict=False):
            unit = roster.units[shift.unit]
            rest = began - ended
            if unit.min_rest_s is not None and rest < unit.min_rest_s:
                lo, hi = local(ended, unit.tz), local(began, unit.tz)
                text = (
                    f"{roster.people.get(user, user)} ({user}): {rest / 3600:g} h rest from {_span(lo, hi)}"
                    f" before {_shift_label(roster, shift)}; {unit.name} asks for {unit.min_rest_s / 3600:g} h"
                )
                found.append(Finding("rest", user, lo, hi, text))
    return found


def _shift_label(roster: Roster, shift: Shift) -> str:
    return f"{roster.units[shift.unit].name} {shift.role}"


# -- helpers --------------------------------------------------------------------------------------------------------


def stamp(at: datetime) -> str:
    """ "Mon 2026-06-22 08:00+02:00": how `roster check` writes an instant."""
    return f"{at:%a %Y-%m-%d %H:%M}{at.isoformat()[-6:]}"


def _span(start: datetime, end: datetime) -> str:
    hours = round((end.timestamp() - start.timestamp()) / 3600, 1)
    return f"{stamp(start)} to {stamp(end)} ({hours:g} h)"
