"""Handoffs across the two DST changes of 2026 and 2027: wall-clock handoffs, no hole, no overlap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rosters import TimeError, parse_instant
from tests.harness.rosters import (
    ANNA,
    BERTIL,
    CECILIA,
    CHEF,
    DAVID,
    STHLM,
    at,
    build_roster,
    hours,
    primary,
    utc,
)

NIGHTS = """
name = "Natt"
phone = "08-000 00 00"
supervisors = ["@chef.c:localhost"]

[[rotation]]
role = "primary"
shift = "22:00-08:00"
every = "daily"
start = 2026-01-01
members = ["@anna.a:localhost", "@bertil.b:localhost"]

[[rotation]]
role = "primary"
shift = "08:00-22:00"
every = "daily"
start = 2026-01-01
members = ["@cecilia.c:localhost", "@david.d:localhost"]
"""

# Handoff at 02:30: skipped on the spring change, repeated on the autumn change.
AT_0230 = """
name = "Halv tre"
supervisors = ["@chef.c:localhost"]

[[rotation]]
role = "primary"
shift = "02:30-02:30"
every = "daily"
start = 2026-01-01
members = ["@anna.a:localhost", "@bertil.b:localhost"]
"""


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    return build_roster(tmp_path_factory.mktemp("nights"), jour_toml=NIGHTS)


@pytest.fixture(scope="module")
def halfpast(tmp_path_factory):
    return build_roster(tmp_path_factory.mktemp("halfpast"), jour_toml=AT_0230)


@pytest.mark.parametrize(
    ("night", "length"),
    [
        ("2026-03-28", 9),  # clocks go forward 29 March 2026
        ("2026-10-24", 11),  # back 25 October 2026
        ("2027-03-27", 9),  # forward 28 March 2027
        ("2027-10-30", 11),  # back 31 October 2027
        ("2026-06-13", 10),  # an ordinary night
    ],
)
def test_night_shift_across_a_dst_change_is_shorter_or_longer(nights, night, length):
    shifts = nights.shifts("jour", at(f"{night} 21:00"), at(f"{night} 23:00"))
    night_shift = next(s for s in shifts if s.start.hour == 22)
    assert night_shift.start == at(f"{night} 22:00")
    assert night_shift.end.hour == 8
    assert hours(night_shift.start, night_shift.end) == length
    assert night_shift.duration.total_seconds() == length * 3600


@pytest.mark.parametrize("week", ["2026-03-25", "2026-10-21", "2027-03-24", "2027-10-27"])
def test_shifts_across_a_dst_week_leave_no_hole_and_no_overlap(nights, week):
    start = at(f"{week} 12:00")
    shifts = [s for s in nights.shifts("jour", start, start + timedelta(days=7)) if s.role == "primary"]
    assert len(shifts) == 15
    for before, after in zip(shifts, shifts[1:], strict=False):
        assert before.end.timestamp() == after.start.timestamp(), (before, after)
    total = hours(shifts[0].start, shifts[-1].end)
    assert total == sum(hours(s.start, s.end) for s in shifts)


def test_the_morning_handoff_after_a_short_night_follows_the_wall_clock(nights):
    # 29 March 2026: 07:59 CEST is still the night person's, 08:00 CEST is the day person's.
    night = primary(nights.who("centrum", at("2026-03-28 23:00")))
    assert night in ([ANNA], [BERTIL])
    assert primary(nights.who("centrum", at("2026-03-29 07:59"))) == night
    assert primary(nights.who("centrum", utc("2026-03-29 05:59"))) == night  # = 07:59 CEST
    assert primary(nights.who("centrum", at("2026-03-29 08:00"))) in ([CECILIA], [DAVID])


def test_spring_forward_handoff_at_a_skipped_time_happens_when_the_clocks_resume(halfpast):
    # 02:30 does not exist on 29 March 2026; the clocks jump from 02:00 CET (01:00 UTC) to 03:00 CEST.
    before = halfpast.who("centrum", utc("2026-03-29 00:59:59"))
    after = halfpast.who("centrum", utc("2026-03-29 01:00"))
    assert primary(before) != primary(after)
    shifts = halfpast.shifts("jour", at("2026-03-29 12:00"), at("2026-03-29 12:01"))
    assert shifts[0].start == at("2026-03-29T03:00+02:00")
    assert hours(shifts[0].start, shifts[0].end) == 23.5  # to 02:30 CEST the next night
    previous = halfpast.shifts("jour", at("2026-03-28 12:00"), at("2026-03-28 12:01"))[0]
    assert hours(previous.start, previous.end) == 23.5  # from 02:30 CET on the 28th


def test_fall_back_handoff_at_a_repeated_time_happens_at_its_first_occurrence(halfpast):
    # 02:30 happens twice on 25 October 2026: first at 00:30 UTC (CEST), then at 01:30 UTC (CET).
    old = primary(halfpast.who("centrum", utc("2026-10-25 00:29")))
    new = primary(halfpast.who("centrum", utc("2026-10-25 00:30")))
    assert old != new
    assert primary(halfpast.who("centrum", utc("2026-10-25 01:30"))) == new  # no second handoff
    assert primary(halfpast.who("centrum", utc("2026-10-25 01:31"))) == new
    shift = halfpast.shifts("jour", at("2026-10-25 12:00"), at("2026-10-25 12:01"))[0]
    assert hours(shift.start, shift.end) == 25


def test_handoff_is_on_the_minute(nights):
    assert primary(nights.who("centrum", at("2026-06-17 21:59"))) != primary(
        nights.who("centrum", at("2026-06-17 22:00"))
    )
    assert primary(nights.who("centrum", at("2026-06-17 22:00"))) == primary(
        nights.who("centrum", at("2026-06-18 07:59"))
    )


def test_supervisor_step_uses_the_static_supervisor_without_a_rotation(nights):
    chain = nights.who("centrum", at("2026-06-17 03:00"))
    assert [p.user for s in chain.steps if s.role == "supervisor" for p in s.people] == [CHEF]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2026-03-29 02:30", "nonexistent"),
        ("2027-03-28T02:00", "nonexistent"),
        ("2026-10-25 02:30", "ambiguous"),
        ("2027-10-31T02:59", "ambiguous"),
    ],
)
def test_typed_times_dst_skips_or_repeats_are_refused_without_an_offset(text, kind):
    with pytest.raises(TimeError) as caught:
        parse_instant(text, STHLM)
    assert caught.value.kind == kind
    assert "offset" in str(caught.value)


def test_typed_times_with_an_offset_are_taken_as_given():
    assert parse_instant("2026-10-25T02:30+01:00", STHLM) == utc("2026-10-25 01:30")
    assert parse_instant("2026-10-25T02:30+02:00", STHLM) == utc("2026-10-25 00:30")
    assert parse_instant("2026-03-29T03:30+02:00", STHLM) == utc("2026-03-29 01:30")
    assert parse_instant("2026-06-17 10:00", STHLM) == utc("2026-06-17 08:00")
