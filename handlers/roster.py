"""`!jour [område] [tid]` and `!schema [enhet] [dag|vecka|datum]`: the roster as people read it in chat.

Pure functions from words and the clock to one reply text; the runtime checks roles and delivers the reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from html import escape

from bot.core.desks import CheckinDesk
from bot.core.i18n import day_range, either, listing, long_day, moment, role_label, t
from handlers.checkin import state_text
from rosters import Area, Chain, Override, Roster, Shift, TimeError, Unit
from rosters.names import normalize
from rosters.phones import spoken_phone
from rosters.wallclock import day_start, parse_instant

MAX_SCHEMA_DAYS = 3 * 365  # further than this, a roster says nothing worth showing (and dates run out at year 9999)

_PERIOD_WORDS = {
    "dag": 0,
    "idag": 0,
    "day": 0,
    "today": 0,
    "imorgon": 1,
    "tomorrow": 1,
    "vecka": 7,
    "week": 7,
}


def jour_reply(args: list[str], now: datetime, roster: Roster, overrides: Sequence[Override], lang: str,
               checkins: CheckinDesk | None = None) -> str:
    """The escalation chain for one area, or for every area, now or at a time typed after the area; with
    `checkins`, each person's check-in for the shift they hold then."""
    text = " ".join(args).strip()
    found = roster.split_area(text) if text else None
    if found is None:
        at = now
        if text:
            try:  # only a time: every area then
                at = parse_instant(text, roster.default_zone, now.astimezone(roster.default_zone).date())
            except TimeError:
                return _unknown_area(roster, args[0], lang)
        return "\n\n".join(_area_text(roster, area, at, overrides, lang, checkins) for area in roster.areas.values())
    area, when = found
    at = now
    if when:
        tz = roster.area_zone(area)
        try:
            at = parse_instant(when, tz, now.astimezone(tz).date())
        except TimeError as err:
            return time_error_text(err, lang)
    return _area_text(roster, area, at, overrides, lang, checkins)


@dataclass(frozen=True)
class Schedule:
    """`!schema`'s answer: plain text for the body, and a table (HTML) that lines up in a client that shows it."""

    text: str
    html: str | None = None


def schema_reply(args: list[str], now: datetime, roster: Roster, overrides: Sequence[Override], lang: str,
                 user: str | None = None) -> Schedule:
    """Shifts for one unit over a day, a week or a given date, after overrides; without a unit, those of the units
    `user` works in or supervises (every unit for someone in none). Today's shifts that have ended are left out."""
    words = list(args)
    unit = _take_unit(words, roster)
    if unit is None and words and _period(words[0]) is None and not _is_date(words[0]):
        known = listing([u.name for u in roster.units.values()], lang)
        return Schedule(t("roster.unknown_unit", lang, text=words[0], units=known))
    if len(words) > 1:
        return Schedule(t("roster.schema.usage", lang))
    units = [unit] if unit else _own_units(roster, user)
    texts, tables = [], []
    for shown in units:
        span = _span(words[0] if words else "dag", now, shown.tz)
        if span is None:
            return Schedule(t("roster.schema.usage", lang))
        first, days = span
        if abs((first - now.astimezone(shown.tz).date()).days) > MAX_SCHEMA_DAYS:
            return Schedule(t("roster.schema.too_far", lang, text=words[0], years=MAX_SCHEMA_DAYS // 365))
        start, end = day_start(first, shown.tz), day_start(first + timedelta(days=days), shown.tz)
        shifts = [s for s in roster.shifts(shown.id, start, end, overrides) if s.end > now]  # not those over
        text, table = _table(shown, roster, shifts, first, days, lang)
        texts.append(text)
        tables.append(table)
    return Schedule("\n\n".join(texts), "".join(tables))


def _own_units(roster: Roster, user: str | None) -> list[Unit]:
    """The units `user` is a member or a supervisor of; every unit for someone in none (a city-wide supervisor)."""
    own = [u for u in roster.units.values() if user is not None and (user in u.members or user in u.supervisors)]
    return own or list(roster.units.values())


def time_error_text(err: TimeError, lang: str) -> str:
    """A TimeError in the reader's language (the runtime's !byt can use it too)."""
    if err.kind == "nonexistent":
        # The instant the clocks resume, as the wall clock shows it: the time the person most likely meant.
        instead = datetime.fromisoformat(err.examples[0])
        shown = instead.strftime("%H:%M") if len(err.text.strip()) <= 5 else instead.strftime("%Y-%m-%d %H:%M")
        return t("roster.time.nonexistent", lang, text=err.text, instead=shown)
    if err.kind == "ambiguous":
        first, second = err.examples
        return t("roster.time.ambiguous", lang, text=err.text, first=first, second=second)
    return t("roster.time.format", lang, text=err.text)


# -- !jour ----------------------------------------------------------------------------------------------------------


def _area_text(roster: Roster, area: Area, at: datetime, overrides: Sequence[Override], lang: str,
               checkins: CheckinDesk | None = None) -> str:
    return _chain_text(roster.who(area.id, at, overrides), roster.area_zone(area), lang, checkins)


def _chain_text(chain: Chain, tz: tzinfo, lang: str, checkins: CheckinDesk | None = None) -> str:
    when = _when(chain.at.astimezone(tz), lang)
    lines = [t("roster.jour.head", lang, area=chain.area_name, when=when, unit=chain.unit_name,
               phone=spoken_phone(chain.unit_phone))]
    for number, step in enumerate(chain.steps, start=1):
        if not step.people and step.role == "unit":
            continue  # everyone in the unit was already paged by an earlier step
        if step.people:
            who = listing([p.name + _checkin(checkins, chain, step.role, p.user, tz, lang) for p in step.people], lang)
        else:
            who = (t("roster.jour.gap", lang, next=role_label(chain.first_role or "supervisor", lang).lower())
                   if step.role == "primary" else t("roster.jour.nobody", lang))
        lines.append(f"{number}. {role_label(step.role, lang)}: {who}")
    return "\n".join(lines)


def _checkin(checkins: CheckinDesk | None, chain: Chain, role: str, user: str, tz: tzinfo, lang: str) -> str:
    if checkins is None or role == "unit":
        return ""
    return state_text(checkins.state(chain.unit, role, user, chain.at), tz, lang)


def _unknown_area(roster: Roster, text: str, lang: str) -> str:
    suggestions = roster.suggest_areas(text)
    if suggestions:
        return t("roster.unknown_area", lang, text=text, suggestions=either(suggestions, lang))
    return t("roster.unknown_area_list", lang, text=text, areas=listing([a.name for a in roster.areas.values()], lang))


# -- !schema --------------------------------------------------------------------------------------------------------


def _take_unit(words: list[str], roster: Roster) -> Unit | None:
    """Remove and return the unit named by the longest run of leading words (names may have spaces)."""
    for count in range(min(len(words), roster.longest_name), 0, -1):
        unit = roster.find_unit(" ".join(words[:count]))
        if unit is not None:
            del words[:count]
            return unit
    return None


def _period(word: str) -> int | None:
    return _PERIOD_WORDS.get(normalize(word))


def _is_date(word: str) -> bool:
    try:
        date.fromisoformat(word)
    except ValueError:
        return False
    return True


def _span(word: str, now: datetime, tz: tzinfo) -> tuple[date, int] | None:
    """(first day, number of days) for "dag", "imorgon", "vecka" or a date; None if it is none of those."""
    today = now.astimezone(tz).date()
    offset = _period(word)
    if offset is not None:
        return (today + timedelta(days=offset), 1) if offset < 7 else (today, 7)
    if _is_date(word):
        return date.fromisoformat(word), 1
    return None


def _table(unit: Unit, roster: Roster, shifts: list[Shift], first: date, days: int, lang: str) -> tuple[str, str]:
    """The plain text (one shift a line, its parts apart by " · ": spaces do not line up in a chat client's font)
    and the same as an HTML table."""
    period = long_day(first, lang) if days == 1 else day_range(first, first + timedelta(days=days - 1), lang)
    head = t("roster.schema.head", lang, unit=unit.name, period=period)
    rows = [(_span_text(s, lang), role_label(s.role, lang), _person(s, roster, lang)) for s in shifts]
    lines = [head, *([" · ".join(row) for row in rows] or [t("roster.schema.empty", lang)])]
    if not rows:
        return "\n".join(lines), f"<p><strong>{escape(head)}</strong><br>{escape(t('roster.schema.empty', lang))}</p>"
    columns = "".join(f"<th>{escape(t(key, lang))}</th>" for key in ("roster.schema.when", "roster.schema.role",
                                                                     "roster.schema.who"))
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    table = (f"<p><strong>{escape(head)}</strong></p>"
             f"<table><thead><tr>{columns}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(lines), table


def _person(shift: Shift, roster: Roster, lang: str) -> str:
    mark = f" ({t('roster.schema.override', lang)})" if shift.source == "override" else ""
    if shift.covers:
        mark += f" ({t('roster.schema.covers', lang, name=roster.people.get(shift.covers, shift.covers))})"
    return f"{shift.name}{mark}"


def _span_text(shift: Shift, lang: str) -> str:
    start, end = shift.start, shift.end
    if start.date() == end.date():
        return f"{moment(start, lang)}–{end:%H:%M}"
    return f"{moment(start, lang)} – {moment(end, lang)}"


def _when(at: datetime, lang: str) -> str:
    return moment(at, lang)
