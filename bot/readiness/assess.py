"""Readiness: who on the coming days' rosters cannot be reached, and why, each problem with what to do about it.

Pure: the people come from the roster (after overrides), the facts from the homeserver (bot/matrix/reachability.py)
and from the store (direct rooms, the last check-in); `assess` names the problems. Used by `jourbot roster ready`
(bot/cli/ready.py) and the daily report to the supervisors (bot/readiness/report.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from bot.core.i18n import day, listing, moment, role_label, t, tn
from bot.matrix.reachability import Reach
from bot.store.checkins import ANSWERED, CheckinRow
from rosters import Override, Roster, Shift

Trust = Literal["tofu", "cross-signed"]


@dataclass(frozen=True)
class OnRoster:
    user: str
    name: str
    units: frozenset[str]
    first: Shift | None  # their first shift in the period; None for a unit's static supervisor without one


@dataclass(frozen=True)
class Problem:
    kind: str  # no_account | unknown | no_device | no_verified_device | no_direct_room | invited | left | checkin
    #            | no_phone | identity_changed
    text: str
    action: str


@dataclass(frozen=True)
class Finding:
    person: OnRoster
    problems: tuple[Problem, ...]


def on_rosters(roster: Roster, overrides: Sequence[Override], start: datetime, days: int) -> list[OnRoster]:
    """Everyone holding a shift in [start, start + days), and every unit's static supervisors (the last step of
    every chain), in the order of their first shift."""
    end = start + timedelta(days=days)
    firsts: dict[str, Shift] = {}
    units: dict[str, set[str]] = {}
    for unit_id in roster.units:
        for shift in roster.shifts(unit_id, start, end, overrides):
            units.setdefault(shift.user, set()).add(unit_id)
            known = firsts.get(shift.user)
            if known is None or shift.start.timestamp() < known.start.timestamp():
                firsts[shift.user] = shift
    for unit in roster.units.values():
        for user in unit.supervisors:
            units.setdefault(user, set()).add(unit.id)
    people = [OnRoster(u, roster.people.get(u, u), frozenset(us), firsts.get(u)) for u, us in units.items()]
    people.sort(key=lambda p: (p.first is None, p.first.start.timestamp() if p.first else 0.0, p.name))
    return people


def assess(people: Sequence[OnRoster], reach: Mapping[str, Reach], rooms: Mapping[str, str],
           last_checkins: Mapping[str, CheckinRow | None], trust: Trust, lang: str, zone: tzinfo,
           phone: Callable[[str], str | None] | None = None,
           identity_changed: Collection[str] = ()) -> list[Finding]:
    """Each person with the problems found (an empty tuple: reachable). `phone`: with the SMS channel on, each
    person's number; someone without one has no second channel when their app stays silent. `identity_changed`:
    whose cross-signing identity changed and waits for a supervisor's confirmation (bot/trust/identities.py)."""
    return [Finding(p, tuple(([_problem("identity_changed", lang, user=p.user)] if p.user in identity_changed
                              else [])
                             + _problems(p.user, reach.get(p.user), p.user in rooms, last_checkins.get(p.user),
                                         trust, lang, zone)
                             + ([_problem("no_phone", lang)] if phone is not None and not phone(p.user) else [])))
            for p in people]


def _problems(user: str, found: Reach | None, has_room: bool, checkin: CheckinRow | None, trust: Trust, lang: str,
              zone: tzinfo) -> list[Problem]:
    out: list[Problem] = []
    if found is None or found.account is None:
        return [_problem("unknown", lang)]
    if not found.account:
        return [_problem("no_account", lang)]  # nothing else can be right for an account that is not there
    if found.devices == 0:
        out.append(_problem("no_device", lang))
    elif trust == "cross-signed" and found.cross_signed == 0:
        out.append(_problem("no_verified_device", lang))
    if not has_room:
        out.append(_problem("no_direct_room", lang))
    elif found.membership == "invite":
        out.append(_problem("invited", lang))
    elif found.membership != "join":
        out.append(_problem("left", lang))
    if checkin is not None and checkin.status != ANSWERED and checkin.asked_at is not None:
        asked = datetime.fromtimestamp(checkin.asked_at, zone)
        out.append(_problem("checkin", lang, when=moment(asked, lang)))
    return out


_TEXTS = {  # kind → (what is wrong, what to do about it)
    "unknown": ("roster.ready.unknown", "roster.ready.unknown.do"),
    "no_account": ("roster.ready.no_account", "roster.ready.no_account.do"),
    "no_device": ("roster.ready.no_device", "roster.ready.no_device.do"),
    "no_verified_device": ("roster.ready.no_verified_device", "roster.ready.no_verified_device.do"),
    "no_direct_room": ("roster.ready.no_direct_room", "roster.ready.no_direct_room.do"),
    "invited": ("roster.ready.invited", "roster.ready.invited.do"),
    "left": ("roster.ready.left", "roster.ready.left.do"),
    "checkin": ("roster.ready.checkin", "roster.ready.checkin.do"),
    "no_phone": ("roster.ready.no_phone", "roster.ready.no_phone.do"),
    "identity_changed": ("roster.ready.identity_changed", "roster.ready.identity_changed.do"),
}


def _problem(kind: str, lang: str, **params: str) -> Problem:
    text, action = _TEXTS[kind]
    return Problem(kind, t(text, lang, **params), t(action, lang, **params))


def report_text(findings: Sequence[Finding], roster: Roster, start: datetime, days: int, lang: str) -> str:
    """The report as people read it: a head line, then each person with a problem and what to do."""
    zone = roster.default_zone
    first, last = start.astimezone(zone).date(), (start + timedelta(days=days - 1)).astimezone(zone).date()
    bad = [f for f in findings if f.problems]
    if not bad:
        return tn("roster.ready.all_ok", len(findings), lang, first=day(first, lang), last=day(last, lang))
    lines = [t("roster.ready.head", lang, count=len(findings), bad=len(bad), first=day(first, lang),
               last=day(last, lang))]
    for finding in bad:
        lines.append("")
        lines.append(_person_line(finding.person, roster, lang))
        lines.extend(f"  – {p.text}. {p.action}." for p in finding.problems)
    return "\n".join(lines)


def _person_line(person: OnRoster, roster: Roster, lang: str) -> str:
    shift = person.first
    if shift is None:
        units = listing(sorted(roster.units[u].name for u in person.units if u in roster.units), lang)
        return t("roster.ready.person_supervisor", lang, name=person.name, user=person.user, units=units)
    unit = roster.units[shift.unit]
    when = moment(shift.start.astimezone(unit.tz), lang)
    return t("roster.ready.person", lang, name=person.name, user=person.user, when=when, unit=unit.name,
             role=role_label(shift.role, lang).lower())


def as_json(findings: Sequence[Finding], start: datetime, days: int) -> dict[str, Any]:
    return {
        "from": start.isoformat(),
        "to": (start + timedelta(days=days)).isoformat(),
        "ok": not any(f.problems for f in findings),
        "people": [
            {
                "user": f.person.user,
                "name": f.person.name,
                "units": sorted(f.person.units),
                "first_shift": f.person.first.start.isoformat() if f.person.first else None,
                "problems": [{"kind": p.kind, "text": p.text, "action": p.action} for p in f.problems],
            }
            for f in findings
        ],
    }
