"""Every user-facing string, Swedish and English side by side.

Each module declares its own strings with `catalog({...})` next to the code that uses them; `t()` renders one
in the reader's language. A unit test checks that every key has both forms with the same placeholders.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("sv", "en")

_CATALOG: dict[str, tuple[str, str]] = {}


def catalog(entries: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Register `key: (sv, en)` strings; a key defined twice with different text is a programming error."""
    for key, pair in entries.items():
        if key in _CATALOG and _CATALOG[key] != pair:
            raise ValueError(f"text key {key!r} defined twice")
        _CATALOG[key] = pair
    return entries


def t(key: str, lang: str, /, **params: object) -> str:
    sv, en = _CATALOG[key]
    template = en if lang == "en" else sv
    return template.format(**params) if params else template


_DURATIONS = catalog(
    {
        "duration.second": ("{n} sekund", "{n} second"),
        "duration.seconds": ("{n} sekunder", "{n} seconds"),
        "duration.minute": ("{n} minut", "{n} minute"),
        "duration.minutes": ("{n} minuter", "{n} minutes"),
        "duration.hour": ("{n} timme", "{n} hour"),
        "duration.hours": ("{n} timmar", "{n} hours"),
    }
)


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


def all_keys() -> dict[str, tuple[str, str]]:
    return dict(_CATALOG)
