"""Seen pages and SMS on an alarm's page in the browser: beside each paged name "sedd 03:12" (as `!status` says it),
and what became of each SMS of the alarm — sent, failed and why, waiting for another try, or no longer needed.
Never the SMS's text or the number it went to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.alarm.machine import Alarm
from bot.channels.sms.channel import SmsOutcome, reason_text
from bot.core.i18n import t, tn
from rosters.wallclock import hhmm

_WHY = {"unreachable": "webview.sms.why.unreachable", "unseen": "webview.sms.why.unseen",
        "fallback": "webview.sms.why.fallback"}


@dataclass(frozen=True)
class SmsLine:
    name: str
    why: str
    outcome: str
    status: str  # for the page's style: "sent" | "failed" | "pending" | "dropped"


def why_texts(lang: str) -> dict[str, str]:
    return {why: t(key, lang) for why, key in _WHY.items()}


def seen_by_name(alarm: Alarm, seen: Mapping[str, datetime], tz: tzinfo) -> dict[str, str]:
    """Paged name → the time their page was read ("03:12"), for those whose receipt arrived."""
    return {alarm.name_of(user): hhmm(at, tz) for user, at in seen.items()}


def sms_lines(alarm: Alarm, outcomes: Sequence[SmsOutcome], tz: tzinfo, lang: str) -> list[SmsLine]:
    out: list[SmsLine] = []
    for sms in outcomes:
        why = why_texts(lang).get(sms.why, sms.why)
        reason = reason_text(sms.failure, lang)
        if sms.status == "sent" and sms.sent_at is not None:
            outcome = t("webview.sms.sent", lang, time=hhmm(datetime.fromtimestamp(sms.sent_at, tz), tz))
        elif sms.status == "failed":
            outcome = t("webview.sms.failed", lang, reason=reason)
        elif sms.status == "pending" and sms.attempts:
            outcome = tn("webview.sms.retrying", sms.attempts, lang, reason=reason)
        elif sms.status == "pending":
            outcome = t("webview.sms.pending", lang)
        else:
            outcome = t("webview.sms.dropped", lang)
        out.append(SmsLine(alarm.name_of(sms.user_id), why, outcome, sms.status))
    return out
