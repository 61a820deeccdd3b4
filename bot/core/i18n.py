"""Every user-facing string, in Swedish and English, from gettext catalogs a translator edits without the code.

bot/core/locale/<lang>/LC_MESSAGES/jourbot.po holds one entry per text: the msgid is the key the code uses
("alarm.raised"), the msgstr the text with {placeholders}. The catalogs are read with Babel when this module is
imported; `t()` renders one text in the reader's language. tests/unit/test_i18n.py fails when a text lacks either
language, when the two disagree on placeholders, or when the code asks for a key neither has.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

from rosters.ics import CalendarWords

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """key → text of one language, as its .po file has it (entries without a translation are left out)."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "jourbot.po").open("rb") as fh:
        po = read_po(fh, locale=lang)
    return {str(m.id): str(m.string) for m in po if m.id and isinstance(m.id, str) and isinstance(m.string, str)
            and m.string}


def t(key: str, lang: str, /, **params: object) -> str:
    template = catalogue("en" if lang == "en" else "sv")[key]
    return template.format(**params) if params else template


def all_keys() -> dict[str, tuple[str, str]]:
    """key → (sv, en) for every key either language has (a missing one shows as "")."""
    sv, en = catalogue("sv"), catalogue("en")
    return {key: (sv.get(key, ""), en.get(key, "")) for key in sorted(sv.keys() | en.keys())}


def either(items: list[str], lang: str) -> str:
    """"a, b eller c": alternatives as a sentence says them."""
    if len(items) <= 1:
        return "".join(items)
    return t("list.or", lang, items=", ".join(items[:-1]), last=items[-1])


def duration(seconds: float, lang: str) -> str:
    """A span of time as people say it, in whole seconds, minutes or hours, with the right plural."""
    whole = max(0, round(seconds))
    if whole < 120:
        n, unit = whole, "second"
    elif whole < 2 * 3600:
        n, unit = round(whole / 60), "minute"
    else:
        n, unit = round(whole / 3600), "hour"
    return t(f"duration.{unit}" if n == 1 else f"duration.{unit}s", lang, n=n)


def role_label(role: str, lang: str) -> str:
    """A roster role as people name it ("Primär", "Primary")."""
    return t(f"roster.role.{role}", lang)


def calendar_words(lang: str) -> CalendarWords:
    """The words rosters.ics puts in a calendar's events, from these catalogs (see CalendarWords for why they are
    handed to it): the roles as inside a sentence, "byte", "för Anna A, ledig"."""
    return CalendarWords(
        roles={role: role_label(role, lang).lower() for role in ("primary", "secondary", "supervisor")},
        override=t("roster.schema.override", lang),
        covers=lambda name: t("roster.schema.covers", lang, name=name),
    )
