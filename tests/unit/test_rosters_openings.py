"""When a district office next opens: the instant its handovers are listed (rosters/openings.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import rosters
from rosters.openings import is_open, next_opening
from tests.harness.handover import ROSTERS

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).timestamp()


def shown(ts: float | None) -> str:
    assert ts is not None
    return datetime.fromtimestamp(ts, STOCKHOLM).strftime("%a %Y-%m-%d %H:%M")


@pytest.mark.parametrize(("after", "opens"), [
    ("2026-11-27T23:10", "Mon 2026-11-30 08:00"),  # a weekend
    ("2026-11-30T07:59", "Mon 2026-11-30 08:00"),
    ("2026-11-30T08:00", "Tue 2026-12-01 08:00"),  # strictly after: the opening just listed is not the next
    ("2026-04-02T23:30", "Tue 2026-04-07 08:00"),  # Maundy Thursday → Good Friday, Easter, Easter Monday
    ("2026-06-18T20:00", "Mon 2026-06-22 08:00"),  # midsommarafton (de facto) and midsommardagen
    ("2026-12-23T20:00", "Mon 2026-12-28 08:00"),  # julafton, juldagen, annandag jul, a weekend
    ("2026-03-27T20:00", "Mon 2026-03-30 08:00"),  # across the spring DST change: 08:00 on the new wall clock
])
def test_the_next_opening_skips_weekends_and_holidays(after, opens):
    farsta = rosters.load_dir(ROSTERS).units["farsta"]
    assert shown(next_opening(farsta, at(after))) == opens


def test_a_unit_without_office_hours_never_opens_or_hands_over():
    roster = rosters.load_dir(ROSTERS)
    assert next_opening(roster.units["socialjouren"], at("2026-11-30T07:00")) is None
    assert not is_open(roster.units["socialjouren"], at("2026-11-30T10:00"))
    assert is_open(roster.units["farsta"], at("2026-11-30T10:00"))
    assert not is_open(roster.units["farsta"], at("2026-04-02T14:00")), "closes at 13:00 before a holiday"
