"""Overrides: a named person covers a role for a bounded interval and wins over the rotation."""

from __future__ import annotations

import pytest

from rosters import Override
from tests.harness.rosters import (
    ANNA,
    BERTIL,
    CECILIA,
    CHEF,
    DAVID,
    EVA,
    at,
    build_roster,
    primary,
    step_users,
)


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    return build_roster(tmp_path_factory.mktemp("overrides"))


def cover(user: str, start: str, end: str, role: str = "primary", unit: str = "jour", name: str = "") -> Override:
    return Override(
        user, name or user[1:].split(":")[0].title(), unit, role, at(start), at(end), id="o1", reason="sjuk"
    )


def test_override_inside_a_shift_wins_only_for_its_interval(roster):
    # 13 June 2026 is a Saturday: Jouren answers, and its 08:00-22:00 primary is not Eva.
    override = [cover(EVA, "2026-06-13 10:00", "2026-06-13 12:00")]
    rotation_person = primary(roster.who("centrum", at("2026-06-13 09:59")))
    assert rotation_person != [EVA]
    assert primary(roster.who("centrum", at("2026-06-13 09:59"), override)) == rotation_person
    assert primary(roster.who("centrum", at("2026-06-13 10:00"), override)) == [EVA]
    assert primary(roster.who("centrum", at("2026-06-13 11:59"), override)) == [EVA]
    assert primary(roster.who("centrum", at("2026-06-13 12:00"), override)) == rotation_person


def test_override_splits_the_shift_it_covers_in_the_final_roster(roster):
    override = [cover(EVA, "2026-06-13 10:00", "2026-06-13 12:00", name="Eva Ersättare")]
    shifts = [
        s
        for s in roster.shifts("jour", at("2026-06-13 09:00"), at("2026-06-13 13:00"), override)
        if s.role == "primary"
    ]
    assert [(s.start.strftime("%H:%M"), s.end.strftime("%H:%M"), s.source) for s in shifts] == [
        ("08:00", "10:00", "rotation"),
        ("10:00", "12:00", "override"),
        ("12:00", "22:00", "rotation"),
    ]
    assert shifts[1].user == EVA and shifts[1].name == "Eva Ersättare"
    assert shifts[0].user == shifts[2].user != EVA


def test_override_crossing_a_handoff_covers_both_shifts(roster):
    override = [cover(EVA, "2026-06-13 21:00", "2026-06-13 23:00")]
    shifts = [
        s
        for s in roster.shifts("jour", at("2026-06-13 20:00"), at("2026-06-14 01:00"), override)
        if s.role == "primary"
    ]
    assert [(s.start.strftime("%H:%M"), s.end.strftime("%H:%M"), s.source) for s in shifts] == [
        ("08:00", "21:00", "rotation"),
        ("21:00", "23:00", "override"),
        ("23:00", "08:00", "rotation"),
    ]


def test_the_later_starting_of_two_overlapping_overrides_wins(roster):
    long = cover(BERTIL, "2026-06-13 09:00", "2026-06-13 17:00")
    short = cover(CECILIA, "2026-06-13 12:00", "2026-06-13 13:00")
    for overrides in ([long, short], [short, long]):
        assert primary(roster.who("centrum", at("2026-06-13 11:00"), overrides)) == [BERTIL]
        assert primary(roster.who("centrum", at("2026-06-13 12:30"), overrides)) == [CECILIA]
        assert primary(roster.who("centrum", at("2026-06-13 13:00"), overrides)) == [BERTIL]
        names = [
            (s.start.hour, s.user)
            for s in roster.shifts("jour", at("2026-06-13 09:00"), at("2026-06-13 17:00"), overrides)
            if s.source == "override"
        ]
        assert names == [(9, BERTIL), (12, CECILIA), (13, BERTIL)]


def test_override_for_another_unit_or_role_changes_nothing_here(roster):
    before = roster.who("centrum", at("2026-06-13 10:00"))
    others = [
        cover(EVA, "2026-06-13 09:00", "2026-06-13 11:00", unit="office"),
        cover(EVA, "2026-06-13 09:00", "2026-06-13 11:00", role="secondary"),
    ]
    after = roster.who("centrum", at("2026-06-13 10:00"), others)
    assert primary(after) == primary(before)
    assert step_users(after, "secondary") == [EVA]


def test_supervisor_override_replaces_the_supervisor_rotation(roster):
    chain = roster.who(
        "centrum", at("2026-06-13 10:00"), [cover(DAVID, "2026-06-13 09:00", "2026-06-13 11:00", role="supervisor")]
    )
    assert step_users(chain, "supervisor") == [DAVID]
    assert CHEF not in [p.user for p in chain.everyone()]


def test_someone_made_primary_by_override_is_not_paged_twice(roster):
    chain = roster.who("centrum", at("2026-06-16 10:00"))  # a Tuesday: the weekday secondary rotation is on
    secondary = step_users(chain, "secondary")
    assert secondary
    chain = roster.who("centrum", at("2026-06-16 10:00"), [cover(secondary[0], "2026-06-16 09:00", "2026-06-16 11:00")])
    assert primary(chain) == secondary
    assert step_users(chain, "secondary") == []  # already paged as primary: the alarm skips the empty step
    assert [p.user for p in chain.everyone()].count(secondary[0]) == 1


def test_office_unit_shifts_are_cut_to_opening_hours(roster):
    shifts = roster.shifts("office", at("2026-06-17 00:00"), at("2026-06-20 00:00"))
    assert [(s.start.strftime("%a %H:%M"), s.end.strftime("%H:%M")) for s in shifts] == [
        ("Wed 08:00", "16:30"),
        ("Thu 08:00", "13:00"),  # the day before midsommarafton
    ]


def test_unit_step_pages_members_not_already_paged(roster):
    chain = roster.who("farsta", at("2026-06-17 10:00"))
    assert chain.unit == "office"
    assert step_users(chain, "unit") == [u for u in [EVA, DAVID, CECILIA] if u not in primary(chain)]
    assert ANNA not in step_users(chain, "unit")
