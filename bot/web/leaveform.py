"""The browser's leave form: what a supervisor typed, read with the rules of the roster files and of `!byt`.

Days alone read as in people.toml (`from` a day: from its start; `to` a day: that day included); times are read
in the person's own unit's zone. What is wrong comes back as one sentence, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo

from bot.core.i18n import t
from handlers.roster import time_error_text
from rosters import Leave, Roster, TimeError, parse_instant
from rosters.wallclock import day_start

MAX_DAYS = 92  # a summer's leave and then some; longer absences belong in people.toml
MAX_REASON = 200


def parse_leave(form: Mapping[str, str], roster: Roster, now: datetime, lang: str) -> Leave | str:
    """The leave the form asks for, or the one-line answer explaining what is wrong."""
    user = form.get("user", "").strip()
    if user not in roster.people:
        return t("override.unknown_person", lang, user=user or "?")
    tz = zone_of(roster, user)
    today = now.astimezone(tz).date()
    try:
        start = _instant(form.get("start", ""), tz, today, end_of_day=False)
        end = _instant(form.get("end", ""), tz, today, end_of_day=True)
    except TimeError as err:
        return time_error_text(err, lang)
    if end <= start or end <= now or end - start > timedelta(days=MAX_DAYS):
        return t("webview.leave.bad_span", lang, days=MAX_DAYS)
    reason = " ".join(form.get("reason", "").split())
    if len(reason) > MAX_REASON:
        return t("webview.leave.long_reason", lang, chars=MAX_REASON)
    return Leave(user, start, end, reason)


def zone_of(roster: Roster, user: str) -> tzinfo:
    """The zone of the first unit `user` belongs to, as the loader reads people.toml's leave."""
    for unit in roster.units.values():
        if user in unit.members or user in unit.supervisors:
            return unit.tz
    return roster.default_zone


def _instant(text: str, tz: tzinfo, today: date, end_of_day: bool) -> datetime:
    raw = text.strip()
    if len(raw) == 10:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return day_start(day + timedelta(days=1) if end_of_day else day, tz)
    return parse_instant(raw, tz, today).astimezone(tz)


def describe(leave: Leave, name: str, lang: str) -> str:
    """"F3: David D ledig 2026-12-21 00:00 – 2026-12-28 00:00", in the leave's own zone."""
    tz = leave.start.tzinfo
    fmt = "%Y-%m-%d %H:%M"
    return t("webview.leave.line", lang, id=leave.entry, name=name, start=leave.start.strftime(fmt),
             end=leave.end.astimezone(tz).strftime(fmt))
