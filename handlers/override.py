"""!byt: a supervisor's time-bounded override of the roster; listed with `!byt lista`, removed with `!byt bort <id>`."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core.effects import Effect, Reply
from bot.core.i18n import listing, role_label, t
from bot.core.roles import Role
from handlers.registry import Command, Context, Registry
from handlers.roster import time_error_text
from rosters import Override, Roster, TimeError, Unit, parse_instant
from rosters.names import is_matrix_user_id, role_word

MAX_DAYS = 31
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}")


def describe(override: Override, lang: str, key: str = "override.line", unit_name: str | None = None) -> str:
    tz = override.start.tzinfo
    fmt = "%Y-%m-%d %H:%M"
    return t(key, lang, id=override.id, name=override.name, role=role_label(override.role, lang).lower(),
             unit=unit_name or override.unit,
             start=override.start.strftime(fmt), end=override.end.astimezone(tz).strftime(fmt))


def _join_dates_and_times(args: list[str]) -> list[str]:
    """"2026-12-24 08:00", as people type it, is one instant: join a date followed by a time of day."""
    out: list[str] = []
    for word in args:
        if out and _DATE.fullmatch(out[-1]) and _TIME_OF_DAY.fullmatch(word):
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out


def parse_override(command: Command, ctx: Context, roster: Roster) -> Override | str:
    """The override a `!byt` asks for, or the one-line answer explaining what is wrong."""
    args = _join_dates_and_times(list(command.args))
    if not args or not is_matrix_user_id(args[0]):
        return t("override.bad_user", ctx.lang)
    if len(args) < 3:
        return t("override.usage", ctx.lang)
    user, start_text, end_text, rest = args[0], args[1], args[2], args[3:]
    name = roster.people.get(user)
    if name is None:
        return t("override.unknown_person", ctx.lang, user=user)
    try:  # the times are checked first: a mistyped time is the answer, whatever else is missing
        for text in (start_text, end_text):
            parse_instant(text, roster.default_zone, ctx.now.astimezone(roster.default_zone).date())
    except TimeError as err:
        return time_error_text(err, ctx.lang)
    role = "primary"
    unit: Unit | None = None
    for word in rest:
        named_role = role_word(word)
        if named_role is not None:
            role = named_role
            continue
        found = roster.find_unit(word)
        if found is None:
            return t("override.unknown_unit", ctx.lang, text=word, units=listing(sorted(roster.units), ctx.lang))
        unit = found
    if unit is None:
        own = sorted(u.id for u in roster.units.values() if user in u.members or user in u.supervisors)
        if len(own) != 1:
            return t("override.need_unit", ctx.lang, name=name, units=listing(own or sorted(roster.units), ctx.lang))
        unit = roster.units[own[0]]
    today = ctx.now.astimezone(unit.tz).date()
    try:
        start = parse_instant(start_text, unit.tz, today)
        end = parse_instant(end_text, unit.tz, today)
    except TimeError as err:
        return time_error_text(err, ctx.lang)
    if end <= start and ":" in end_text and "T" not in end_text:
        end = parse_instant(end_text, unit.tz, today + timedelta(days=1))  # "22:00 08:00" runs over midnight
    if end <= start or end <= ctx.now or end - start > timedelta(days=MAX_DAYS):
        return t("override.bad_span", ctx.lang, days=MAX_DAYS)
    return Override(user, name, unit.id, role, start, end)


def register(registry: Registry) -> None:
    @registry.command("byt", "override", roles=frozenset({Role.SUPERVISOR}), usage="override.usage")
    def byt(command: Command, ctx: Context) -> list[Effect]:
        overrides = ctx.services.overrides
        first = command.args[0].casefold() if command.args else ""
        if first in ("lista", "list"):
            roster = ctx.services.roster
            # Those written in the roster files too: their id names the file ("socialjouren.toml#1").
            written = [o for o in roster.file_overrides if o.end > ctx.now]
            current = sorted([*overrides.current(ctx.now), *written], key=lambda o: o.start.timestamp())
            units = roster.units
            lines = [describe(o, ctx.lang, unit_name=units[o.unit].name if o.unit in units else None)
                     for o in current] or [t("override.none", ctx.lang)]
            return [Reply("\n".join(lines))]
        if first in ("bort", "remove", "ta-bort"):
            wanted = command.args[1].upper() if len(command.args) > 1 else ""
            if not overrides.remove(wanted, command.sender, ctx.now):
                return [Reply(t("override.no_such", ctx.lang, id=wanted or "?"))]
            return [Reply(t("override.removed", ctx.lang, id=wanted))]
        parsed = parse_override(command, ctx, ctx.services.roster)
        if isinstance(parsed, str):
            return [Reply(parsed)]
        added = overrides.add(parsed, command.sender, ctx.now)
        unit = ctx.services.roster.units.get(added.unit)
        return [Reply(describe(added, ctx.lang, "override.added", unit.name if unit else None))]
