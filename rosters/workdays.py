"""Swedish holidays, from the `holidays` package: public holidays plus the de-facto ones.

Midsommarafton, julafton and nyårsafton are not public holidays in law but are treated as such (Semesterlag
1977:480 §7), and the district offices are closed on them; the package lists them under the "de_facto" category.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

CATEGORIES = ("public", "de_facto")

_calendar = holidays.country_holidays("SE", categories=CATEGORIES, language="sv")


@lru_cache(maxsize=4096)
def holiday_name(day: date) -> str | None:
    """The holiday's Swedish name ("Midsommarafton"), or None on an ordinary day."""
    return _calendar.get(day)


def is_holiday(day: date) -> bool:
    return holiday_name(day) is not None


def is_eve_of_holiday(day: date) -> bool:
    return is_holiday(day + timedelta(days=1))
