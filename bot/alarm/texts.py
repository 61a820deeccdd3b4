"""How the alarm lifecycle's effects become text (the texts themselves are in bot/core/locale/, sv and en).

The state machine (bot.alarm.machine) returns effects with a key and language-free params; this module turns them into
a message in the reader's language. The page is rendered separately because only the store holds the details.
"""

from __future__ import annotations

from typing import Any

from bot.alarm.machine import Alarm, AnnounceUnit, Answer, Notify, local_time
from bot.core.i18n import listing, role_label, t, tn
from rosters.phones import spoken_phone


def render(effect: Notify | Answer | AnnounceUnit, lang: str) -> str:
    """The text of a message effect in `lang`. Pages are rendered with `page_text`, which needs the details."""
    if not isinstance(effect, Notify | Answer | AnnounceUnit):
        raise TypeError(f"{type(effect).__name__} is not a message")
    return t(effect.key, lang, **_localize(effect.params, lang))


def page_text(alarm: Alarm, lang: str, details: str, shortened: bool = False) -> str:
    """The page sent to one responder: area, when it was raised (local HH:MM), the police's details, how to answer.
    `shortened`: `details` is only the beginning of the police's text, and the page says so."""
    return t(
        "alarm.page",
        lang,
        id=alarm.id,
        area=alarm.area_name,
        unit=alarm.unit_name,
        time=local_time(alarm, alarm.raised_at),
        details=_details(alarm, lang, details, shortened),
    )


def handoff_text(alarm: Alarm, lang: str, details: str, shortened: bool = False) -> str:
    """The page asking someone to take over an alarm a holder is leaving (`!lämna`): who asks, the alarm as its page
    has it, and how to take it."""
    giver = alarm.name_of(alarm.handoff_from) if alarm.handoff_from else alarm.accepted_name or ""
    return t("alarm.handoff_page", lang, id=alarm.id, area=alarm.area_name, unit=alarm.unit_name, giver=giver,
             time=local_time(alarm, alarm.raised_at), details=_details(alarm, lang, details, shortened))


def _details(alarm: Alarm, lang: str, details: str, shortened: bool) -> str:
    """The police's text, then what the one who takes the alarm needs besides: the police's case number, how to
    reach the officer, how many go out together."""
    details = details.strip() or t("alarm.page_no_details", lang)
    if shortened:
        details += " " + t("alarm.page_shortened", lang)
    return "\n".join([details, *facts_lines(alarm, lang)])


def facts_lines(alarm: Alarm, lang: str) -> list[str]:
    """The case number, the officer and their phone, and the unit going out two by two, each on a line of its own,
    for the responders only (never the police room)."""
    lines = []
    if alarm.case_number:
        lines.append(t("alarm.fact.case_number", lang, case=alarm.case_number))
    officer = alarm.officer_name or ""
    if officer and alarm.officer_phone:
        lines.append(t("alarm.fact.officer_phone", lang, officer=officer, phone=spoken_phone(alarm.officer_phone)))
    elif officer:
        lines.append(t("alarm.fact.officer", lang, officer=officer))
    if alarm.needed > 1:
        lines.append(tn("alarm.fact.needed", alarm.needed, lang, count=len(alarm.holders)))
    return lines


def reminder_text(alarm: Alarm, lang: str, details: str, shortened: bool = False) -> str:
    """A page repeated because nobody has answered it: one line saying so, then the page as it was."""
    return t("alarm.page_reminder", lang, id=alarm.id) + "\n" + page_text(alarm, lang, details, shortened)


def _localize(params: dict[str, Any], lang: str) -> dict[str, Any]:
    out = dict(params)
    if "roles" in out:
        out["roles"] = listing([_role(r, lang) for r in out["roles"]], lang)
    for key in ("names", "name"):
        if isinstance(out.get(key), tuple | list):
            out[key] = listing(out[key], lang)
    for key in ("phone", "own_phone"):
        if isinstance(out.get(key), str):
            out[key] = spoken_phone(out[key])  # 070-174 06 05, as Swedes write it
    if "reason" in out:
        out["reason"] = reason_text(str(out["reason"]), lang)
    return out


REASONS = ("too_large", "forbidden", "unknown_user", "no_trusted_device", "identity_changed", "room_gone", "rejected",
           "timeout")


def reason_text(reason: str, lang: str) -> str:
    """A failure class (bot.matrix.port.DeliveryFailure.reason) in plain words."""
    return t(f"alarm.reason.{reason if reason in REASONS else 'rejected'}", lang)


def _role(role: str, lang: str) -> str:
    return role_label(role, lang).lower()  # inside a sentence
