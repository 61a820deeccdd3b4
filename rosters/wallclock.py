"""Wall-clock times in a time zone, and the two rules for the hours DST skips or repeats.

Everything inside the engine is Unix seconds: aware datetimes that share a tzinfo compare and subtract by their wall
clock, which is wrong across a fall-back change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rosters.errors import TimeError
from rosters.model import DEFAULT_ZONE

__all__ = [
    "UTC",
    "handoff_instant",
    "hhmm",
    "local",
    "local_day",
    "day_start",
    "parse_instant",
    "require_aware",
    "strict_local",
    "zone_named",
]

def zone_named(name: str) -> ZoneInfo:
    """The zone `name`, or Stockholm's if this machine does not know it: a time shown an hour off beats a crash."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def hhmm(moment: datetime, tz: tzinfo) -> str:
    """`moment` as the wall clock in `tz` shows it, "HH:MM": how every time is shown to people."""
    return moment.astimezone(tz).strftime("%H:%M")


def handoff_instant(day: date, at: time, tz: tzinfo) -> int:
    """Unix seconds at which a wall clock in `tz` first shows `at` on `day`.

    That one rule gives both DST behaviours: a time skipped by spring forward resolves to the next valid instant
    (the end of the gap), and a time repeated by fall back to its first occurrence.
    """
    naive = datetime.combine(day, at)
    guess = int(naive.replace(tzinfo=tz).timestamp())  # fold=0: the first occurrence, or past the gap if skipped
    if _wall(guess, tz) == naive:
        return guess
    # Skipped: the answer lies between the reading with the later offset and `guess`; wall time is monotonic there.
    lo, hi = int(naive.replace(tzinfo=tz, fold=1).timestamp()), guess
    while lo < hi:
        mid = (lo + hi) // 2
        if _wall(mid, tz) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _wall(ts: int, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts, tz).replace(tzinfo=None)


def local(ts: float, tz: tzinfo) -> datetime:
    """The instant `ts` as an aware datetime in `tz`, with `fold` set right for display."""
    return datetime.fromtimestamp(ts, tz)


def local_day(ts: float, tz: tzinfo) -> int:
    """Proleptic ordinal of the date the wall clock in `tz` shows at `ts`."""
    return datetime.fromtimestamp(ts, tz).toordinal()


def require_aware(at: datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass an aware datetime")
    return at.timestamp()


def strict_local(naive: datetime, tz: tzinfo, text: str = "") -> datetime:
    """`naive` read in `tz`, refusing a wall time that DST skips or repeats: only the person knows which they meant."""
    text = text or naive.isoformat(sep=" ", timespec="minutes")
    zone = getattr(tz, "key", str(tz))
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if datetime.fromtimestamp(first.timestamp(), tz).replace(tzinfo=None) != naive:
        example = _with_offset(local(first.timestamp(), tz))
        raise TimeError(
            "nonexistent",
            text,
            f"{text} does not exist in {zone}: the clocks jump forward then; give an offset, e.g. {example}",
            zone,
            (example,),
        )
    if first.utcoffset() != second.utcoffset():
        examples = (_with_offset(first), _with_offset(second))
        raise TimeError(
            "ambiguous",
            text,
            f"{text} happens twice in {zone}: the clocks fall back then; "
            f"give an offset: {examples[0]} (first) or {examples[1]} (second)",
            zone,
            examples,
        )
    return first


def _with_offset(dt: datetime) -> str:
    return dt.astimezone(timezone(dt.utcoffset() or timedelta(0))).isoformat(timespec="minutes")


_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def parse_instant(text: str, tz: tzinfo, today: date | None = None) -> datetime:
    """A time a person typed: ISO 8601 with or without offset, "YYYY-MM-DD HH:MM", or "HH:MM" on `today`.

    Without an offset the time is read in `tz` and must name exactly one instant.
    """
    raw = text.strip()
    clock = _CLOCK.match(raw)
    if clock and today is not None:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise _format_error(text)
        return strict_local(datetime.combine(today, time(hour, minute)), tz, text)
    if len(raw) <= 10:  # a bare date or a bare clock time without a day to put it on
        raise _format_error(text)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _format_error(text) from None
    if parsed.tzinfo is not None:
        return parsed
    return strict_local(parsed, tz, text)


def day_start(day: date, tz: tzinfo) -> datetime:
    """The first instant of `day` in `tz` (midnight, or when the clocks resume if a DST change skips midnight)."""
    return local(handoff_instant(day, time(0), tz), tz)


def _format_error(text: str) -> TimeError:
    return TimeError(
        "format", text, f"{text!r} is not a time; expected ISO 8601 (2026-06-19T14:00+02:00), YYYY-MM-DD HH:MM or HH:MM"
    )
