"""A shift check-in as handlers see it: the desk they answer it through, and how `!jour` shows its state.

What a check-in is and when it is asked is the runtime's (bot/checkins.py); the answers are handlers/checkin_answers.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol

from handlers.effects import Effect
from handlers.i18n import t
from rosters.wallclock import hhmm


@dataclass(frozen=True)
class CheckinState:
    status: str  # "asked" | "answered" | "unanswered" | "skipped"
    asked_at: datetime | None
    answered_at: datetime | None


class CheckinDesk(Protocol):
    def answer(self, user: str, room_id: str, relates_to: str, now: datetime) -> list[Effect]: ...
    def state(self, unit: str, role: str, user: str, at: datetime) -> CheckinState | None: ...


class NoCheckins:
    """For a runtime without check-ins: nothing is ever asked, so nothing is answered."""

    def answer(self, user: str, room_id: str, relates_to: str, now: datetime) -> list[Effect]:
        return []

    def state(self, unit: str, role: str, user: str, at: datetime) -> CheckinState | None:
        return None


def state_text(state: CheckinState | None, tz: tzinfo, lang: str) -> str:
    """" (incheckad 22:03)" after a name in `!jour`; "" when that shift has no check-in."""
    if state is None or state.asked_at is None or state.status == "skipped":
        return ""
    if state.status == "answered" and state.answered_at is not None:
        return f" ({t('roster.checkin.state.answered', lang, time=hhmm(state.answered_at, tz))})"
    key = "roster.checkin.state.unanswered" if state.status == "unanswered" else "roster.checkin.state.asked"
    return f" ({t(key, lang, time=hhmm(state.asked_at, tz))})"
