"""Alarm ids as people say them: "L42". The one grammar for writing and reading them."""

from __future__ import annotations

import re

_ID = re.compile(r"^[lL](\d{1,9})$")


def alarm_id(number: int) -> str:
    return f"L{number}"


def parse_alarm_id(text: str) -> str | None:
    """`l42` → `L42`; anything else → None.

    A bare number is refused so that in `!nej 2 larm samtidigt` the 2 stays part of the reason.
    """
    match = _ID.match(text.strip())
    return alarm_id(int(match.group(1))) if match else None
