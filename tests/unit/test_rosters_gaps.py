"""Gaps: hours when an area has no primary on call, found before they happen."""

from __future__ import annotations

import pytest

from rosters import Override, find_gaps, load_dir
from tests.harness.rosters import (
    ANNA,
    CHEF,
    EVA,
    EXAMPLES,
    NO_SUNDAY_NIGHT,
    OFFICE,
    at,
    build_roster,
    primary,
    step_users,
)


@pytest.fixture(scope="module")
def gappy(tmp_path_factory):
    return build_roster(tmp_path_factory.mktemp("gappy"), jour_toml=NO_SUNDAY_NIGHT)


def spans(gaps, area):
    return [(g.start.strftime("%a %d %H:%M"), g.end.strftime("%a %d %H:%M")) for g in gaps if g.area == area]


def test_planted_gap_is_found_for_every_area_it_touches(gappy):
    gaps = find_gaps(gappy, at("2026-06-15 00:00"), at("2026-06-29 00:00"))
    # The Sunday nights of 14, 21 and 28 June, each cut to the range asked about.
    expected = [("Mon 15 00:00", "Mon 15 08:00"), ("Sun 21 22:00", "Mon 22 08:00"), ("Sun 28 22:00", "Mon 29 00:00")]
    assert spans(gaps, "centrum") == expected
    assert spans(gaps, "farsta") == expected  # the office opens at 08:00 on Monday and has a primary


def test_a_gap_is_what_who_sees(gappy):
    chain = gappy.who("centrum", at("2026-06-22 03:00"))
    assert not chain.has_primary
    assert chain.steps[0].role == "primary" and chain.steps[0].people == ()  # kept, so the alarm can skip it
    assert step_users(chain, "supervisor") in ([CHEF], [EVA])  # the supervisor on duty is still paged
    assert gappy.who("centrum", at("2026-06-22 08:00")).has_primary
    assert gappy.who("centrum", at("2026-06-21 21:59")).has_primary


def test_an_override_fills_a_gap(gappy):
    cover = [Override(ANNA, "Anna A", "jour", "primary", at("2026-06-21 22:00"), at("2026-06-22 08:00"))]
    gaps = find_gaps(gappy, at("2026-06-15 08:00"), at("2026-06-28 00:00"), cover)
    assert gaps == []
    assert primary(gappy.who("centrum", at("2026-06-22 03:00"), cover)) == [ANNA]


def test_an_office_rotation_that_ends_leaves_office_hours_uncovered(tmp_path):
    ending = OFFICE.replace("start = 2025-12-29", "start = 2025-12-29\nuntil = 2026-06-17")
    gaps = find_gaps(build_roster(tmp_path, office_toml=ending), at("2026-06-15 00:00"), at("2026-06-20 00:00"))
    assert spans(gaps, "farsta") == [("Wed 17 08:00", "Wed 17 16:30"), ("Thu 18 08:00", "Thu 18 13:00")]
    assert spans(gaps, "centrum") == []


def test_the_example_city_has_no_gap_for_two_years():
    city = load_dir(EXAMPLES)
    assert find_gaps(city, at("2026-01-01 00:00"), at("2028-01-01 00:00")) == []
