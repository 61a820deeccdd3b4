"""Every user-facing string, in Swedish and English, from gettext catalogs a translator edits without the code.

bot/core/locale/<lang>/LC_MESSAGES/jourbot.po holds one entry per text: the msgid is the key the code uses
("alarm.raised"), the msgstr the text with {placeholders}. A text that counts something is a gettext plural entry
(msgid_plural and msgstr[0], msgstr[1], …; the msgid_plural repeats the key), and the .po file's Plural-Forms header
says which form a count takes ("1 lucka", "2 luckor"; "0 luckor" too).

The catalogs are read with Babel when first asked for; `t()` renders one text in the reader's language, `tn()` one
that counts. Lists, spans of time, numbers and dates are worded by Babel from CLDR (the Unicode locale data), so
the catalogs need no weekday, month or unit words: `listing`/`either` ("a, b och c" / "a, b eller c"),
`duration` ("15 minuter"), `number` ("1 234"), `day`/`moment`/`day_range`.

tests/unit/test_i18n.py fails when a text lacks either language or a plural form, when the two disagree on
placeholders, or when the code asks for a key neither has.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Final

from babel import Locale
from babel.dates import format_datetime, format_interval, format_skeleton, format_timedelta
from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from rosters.ics import CalendarWords

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
# The CLDR locale each language's dates, numbers and lists follow. English is British English: the people reading
# it work in Sweden, with day-before-month dates and the 24-hour clock (en_US would write "6/15/26, 10:05 PM").
LOCALES: Final = {"sv": "sv_SE", "en": "en_GB"}


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "sv"


@cache
def _catalog(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "jourbot.po").open("rb") as fh:
        return read_po(fh, locale=lang)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """key → text of one language, as its .po file has it (entries without a translation are left out; plural
    entries are in `plural_catalogue`)."""
    return {m.id: m.string for m in _catalog(lang) if m.id and isinstance(m.id, str) and isinstance(m.string, str)
            and m.string}


@cache
def plural_catalogue(lang: str) -> dict[str, tuple[str, ...]]:
    """key → the forms of a text that counts (msgstr[0], msgstr[1], …), as the .po file has them."""
    return {str(m.id[0]): tuple(str(s) for s in m.string) for m in _catalog(lang)
            if m.pluralizable and isinstance(m.string, tuple | list)}


def plural_forms(lang: str) -> str:
    """The .po file's Plural-Forms header: how many forms a count has and which one a number takes."""
    return str(_catalog(lang).plural_forms)


@cache
def _translations(lang: str) -> gettext.GNUTranslations:
    """The catalog as gettext reads it, for `ngettext`: the form a count takes comes from the Plural-Forms header."""
    mo = io.BytesIO()
    write_mo(mo, _catalog(lang))
    mo.seek(0)
    return gettext.GNUTranslations(mo)


def t(key: str, lang: str, /, **params: object) -> str:
    template = catalogue(_lang(lang))[key]
    return template.format(**params) if params else template


def tn(key: str, n: int, lang: str, /, **params: object) -> str:
    """A text that counts: the form `n` takes in `lang` ("1 lucka", "3 luckor"), with `n` written as the language
    writes numbers in its {n} and the other placeholders from `params`."""
    lang = _lang(lang)
    if key not in plural_catalogue(lang):
        raise KeyError(key)
    template = _translations(lang).ngettext(key, key, n)
    return template.format(n=number(n, lang), **params)


def all_keys() -> dict[str, tuple[str, str]]:
    """key → (sv, en) for every key either language has (a missing one shows as "")."""
    sv, en = catalogue("sv"), catalogue("en")
    return {key: (sv.get(key, ""), en.get(key, "")) for key in sorted(sv.keys() | en.keys())}


def all_plural_keys() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """key → (sv forms, en forms) for every plural entry either language has (a missing one shows as ())."""
    sv, en = plural_catalogue("sv"), plural_catalogue("en")
    return {key: (sv.get(key, ()), en.get(key, ())) for key in sorted(sv.keys() | en.keys())}


def _locale(lang: str) -> str:
    return LOCALES[_lang(lang)]


def number(n: float, lang: str) -> str:
    """A number as the language writes it: "1 234" (with a no-break space) in Swedish, "1,234" in English."""
    return format_decimal(n, locale=_locale(lang))


def percent(share: float, lang: str) -> str:
    """A share (0.46) as a whole percentage: "46 %" in Swedish, "46%" in English."""
    return format_percent(share, locale=_locale(lang))


def listing(items: Sequence[str], lang: str) -> str:
    """"a, b och c": things that all hold, as a sentence lists them."""
    return format_list(list(items), style="standard", locale=_locale(lang)) if items else ""


def either(items: Sequence[str], lang: str) -> str:
    """"a, b eller c": alternatives as a sentence says them."""
    return format_list(list(items), style="or", locale=_locale(lang)) if items else ""


def duration(seconds: float, lang: str) -> str:
    """A span of time as people say it, in whole seconds, minutes, hours or days with the right plural ("1 sekund",
    "15 minuter", "3 timmar", "2 dygn"): a unit is used from two of it on, so 90 s is "90 sekunder", not "2 minuter"."""
    return format_timedelta(timedelta(seconds=max(0, round(seconds))), threshold=2, locale=_locale(lang))


def day(when: date, lang: str) -> str:
    """A day of the coming or past weeks, with its weekday: "ons 17/6", "Wed 17/06"."""
    return format_skeleton("MEd", when, locale=_locale(lang))


def day_month(when: date, lang: str) -> str:
    """A day and month only, where the weekday would be noise: "17/6", "17/06"."""
    return format_skeleton("Md", when, locale=_locale(lang))


def long_day(when: date, lang: str) -> str:
    """A day named in full, with its year: "ons 17 juni 2026", "Wed, 17 Jun 2026"."""
    return format_skeleton("yMMMEd", when, locale=_locale(lang))


def day_range(first: date, last: date, lang: str) -> str:
    """Days from `first` to `last`, both included: "17–23 juni 2026", "28 dec. 2026–3 jan. 2027"."""
    return format_interval(first, last, "yMMMd", locale=_locale(lang))


def moment(at: datetime, lang: str, *, weekday: bool = True, year: bool = False) -> str:
    """A wall-clock time with its day, in `at`'s own zone: "ons 17/6 22:05"; without the weekday "17/6 22:05"; with
    the year "2026-06-17 22:05" ("17/06/2026, 22:05" in English)."""
    locale = Locale.parse(_locale(lang))
    if year:
        return format_datetime(at, "short", locale=locale)
    day_pattern = locale.datetime_skeletons["MEd" if weekday else "Md"].pattern
    pattern = str(locale.datetime_formats["short"]).format(locale.time_formats["short"].pattern, day_pattern)
    return format_datetime(at, pattern, locale=locale)


def month_name(month: date, lang: str) -> str:
    """A month with its year: "december 2026", "December 2026"."""
    return format_skeleton("yMMMM", month, locale=_locale(lang))


def hours_text(seconds: float, lang: str) -> str:
    """Hours with two decimals as the language writes them: "12,50" in Swedish, "12.50" in English."""
    return format_decimal(seconds / 3600, format="0.00", locale=_locale(lang))


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
