"""How `!jour` shows a shift's check-in; what a check-in is and when it is asked is the runtime's
(bot/readiness/checkins.py), the desk handlers answer it through is bot/core/desks.py."""

from __future__ import annotations

from datetime import tzinfo

from bot.core.desks import CheckinState
from bot.core.i18n import t
from rosters.wallclock import hhmm


def state_text(state: CheckinState | None, tz: tzinfo, lang: str) -> str:
    """" (incheckad 22:03)" after a name in `!jour`; "" when that shift has no check-in."""
    if state is None or state.asked_at is None or state.status == "skipped":
        return ""
    if state.status == "answered" and state.answered_at is not None:
        return f" ({t('roster.checkin.state.answered', lang, time=hhmm(state.answered_at, tz))})"
    key = "roster.checkin.state.unanswered" if state.status == "unanswered" else "roster.checkin.state.asked"
    return f" ({t(key, lang, time=hhmm(state.asked_at, tz))})"
