"""Check-ins on the browser's "now" page: beside each person on call, whether they checked in for the shift they hold
(README, "Readiness before the shift"), in the words `!jour` uses. Nothing when their shift has no check-in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from bot.core.desks import CheckinDesk, CheckinState
from bot.core.i18n import t
from rosters import Chain, Roster
from rosters.wallclock import hhmm


@dataclass(frozen=True)
class CheckinLabel:
    status: str  # "asked" | "answered" | "unanswered": the page's style
    text: str  # "incheckad 22:03"


def label(state: CheckinState | None, tz: tzinfo, lang: str) -> CheckinLabel | None:
    if state is None or state.asked_at is None or state.status == "skipped":
        return None
    if state.status == "answered" and state.answered_at is not None:
        return CheckinLabel("answered", t("roster.checkin.state.answered", lang, time=hhmm(state.answered_at, tz)))
    if state.status == "unanswered":
        return CheckinLabel("unanswered", t("roster.checkin.state.unanswered", lang, time=hhmm(state.asked_at, tz)))
    return CheckinLabel("asked", t("roster.checkin.state.asked", lang, time=hhmm(state.asked_at, tz)))


def labels(chains: Sequence[Chain], roster: Roster, desk: CheckinDesk,
           lang: str) -> dict[tuple[str, str, str], CheckinLabel]:
    """(area, role, user) → the check-in of the shift that person holds now, for everyone in each chain."""
    out: dict[tuple[str, str, str], CheckinLabel] = {}
    for chain in chains:
        tz = roster.units[chain.unit].tz if chain.unit in roster.units else roster.default_zone
        for step in chain.steps:
            if step.role == "unit":  # the whole unit is paged by no shift of its own
                continue
            for person in step.people:
                found = label(desk.state(chain.unit, step.role, person.user, chain.at), tz, lang)
                if found is not None:
                    out[(chain.area, step.role, person.user)] = found
    return out
