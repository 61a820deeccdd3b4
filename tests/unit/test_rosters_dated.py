"""Overrides, leave and membership changes written in the roster files: override > leave > rotation, and a change
of members never rewrites a turn already begun."""

from __future__ import annotations

import pytest

from rosters import RosterError, load_dir
from tests.harness.rosters import (
    ANNA,
    BERTIL,
    CECILIA,
    CHEF,
    DAVID,
    EVA,
    JOUR,
    PEOPLE,
    at,
    build_roster,
    primary,
    step_users,
    write_roster,
)

# Anna holds the day primary (08-22) the week of Monday 2026-06-15, and the night primary (22-08) that starts on
# Wednesday 2026-06-17; the night rotation turns daily: Cecilia, David, Anna.
ANNA_AWAY_WEDNESDAY = (
    PEOPLE
    + """
[[leave]]
person = "@anna.a:localhost"
from = 2026-06-17
to = 2026-06-17
reason = "semester"
"""
)


def test_leave_hands_the_turn_to_the_next_member_only_while_it_lasts(tmp_path):
    roster = build_roster(tmp_path, people_toml=ANNA_AWAY_WEDNESDAY)
    assert primary(roster.who("centrum", at("2026-06-16 10:00"))) == [ANNA]
    assert primary(roster.who("centrum", at("2026-06-17 10:00"))) == [BERTIL]
    assert primary(roster.who("centrum", at("2026-06-17 23:00"))) == [CECILIA]  # her night, first two hours
    assert primary(roster.who("centrum", at("2026-06-18 01:00"))) == [ANNA]  # back at midnight
    shifts = [s for s in roster.shifts("jour", at("2026-06-17 08:00"), at("2026-06-18 08:00")) if s.role == "primary"]
    assert [(s.user, s.start.hour, s.end.hour, s.covers) for s in shifts] == [
        (BERTIL, 8, 22, ANNA),
        (CECILIA, 22, 0, ANNA),
        (ANNA, 0, 8, ""),
    ]


def test_someone_on_leave_is_not_paged_by_the_unit_step(tmp_path):
    roster = build_roster(tmp_path, people_toml=ANNA_AWAY_WEDNESDAY)
    assert step_users(roster.who("centrum", at("2026-06-16 23:00")), "unit") == [ANNA, BERTIL, CECILIA]
    chain = roster.who("centrum", at("2026-06-17 23:00"))  # Cecilia stands in for Anna's night
    assert ANNA not in {p.user for p in chain.everyone()}
    assert step_users(chain, "unit") == [BERTIL, DAVID, EVA]


def test_an_override_in_the_file_wins_over_leave_and_rotation(tmp_path):
    jour = (
        JOUR
        + """
[[override]]
person = "@anna.a:localhost"
from = "2026-06-17 12:00"
to = 2026-06-17T14:00:00
reason = "tar över ett ärende"

[[override]]
person = "@david.d:localhost"
role = "secondary"
from = 2026-06-18
to = 2026-06-18
"""
    )
    roster = build_roster(tmp_path, people_toml=ANNA_AWAY_WEDNESDAY, jour_toml=jour)
    assert primary(roster.who("centrum", at("2026-06-17 11:59"))) == [BERTIL]
    assert primary(roster.who("centrum", at("2026-06-17 13:00"))) == [ANNA]
    assert primary(roster.who("centrum", at("2026-06-17 14:00"))) == [BERTIL]
    assert step_users(roster.who("centrum", at("2026-06-18 10:00")), "secondary") == [DAVID]
    assert step_users(roster.who("centrum", at("2026-06-19 10:00")), "secondary") != [DAVID]
    overridden = [
        s for s in roster.shifts("jour", at("2026-06-17 00:00"), at("2026-06-19 00:00")) if s.source == "override"
    ]
    assert [(s.user, s.role, s.start.isoformat(), s.end.isoformat()) for s in overridden] == [
        (ANNA, "primary", "2026-06-17T12:00:00+02:00", "2026-06-17T14:00:00+02:00"),
        (DAVID, "secondary", "2026-06-18T00:00:00+02:00", "2026-06-19T00:00:00+02:00"),  # a date: the whole day
    ]
    assert [o.id for o in roster.file_overrides] == ["jour.toml#1", "jour.toml#2"]


def test_an_override_made_in_chat_wins_over_one_in_the_file_that_starts_no_later(tmp_path):
    from rosters import Override

    jour = JOUR + '\n[[override]]\nperson = "@anna.a:localhost"\nfrom = 2026-06-17T12:00:00\nto = 2026-06-17T14:00:00\n'
    roster = build_roster(tmp_path, jour_toml=jour)
    chat = Override(EVA, "Eva E", "jour", "primary", at("2026-06-17 12:00"), at("2026-06-17 13:00"), "B1")
    assert primary(roster.who("centrum", at("2026-06-17 12:30"), [chat])) == [EVA]
    assert primary(roster.who("centrum", at("2026-06-17 13:30"), [chat])) == [ANNA]


def test_a_membership_change_keeps_the_current_turn_and_every_past_one(tmp_path):
    # The day rotation: Anna the week of 15 June, Bertil the next, Anna the one after. From Wednesday 17 June
    # Cecilia joins: Anna keeps her week, then the new order follows her.
    joined = JOUR.replace(
        'members = ["@anna.a:localhost", "@bertil.b:localhost"]',
        'members = ["@anna.a:localhost", "@bertil.b:localhost"]\n\n[[rotation.change]]\nfrom = 2026-06-17\n'
        'members = ["@bertil.b:localhost", "@cecilia.c:localhost", "@anna.a:localhost"]',
        1,
    )
    before, after = load_dir(write_roster(tmp_path / "a")), build_roster(tmp_path / "b", jour_toml=joined)
    for day in ("2026-06-08", "2026-06-15", "2026-06-17", "2026-06-21"):
        assert primary(after.who("centrum", at(f"{day} 10:00"))) == primary(before.who("centrum", at(f"{day} 10:00")))
    assert primary(after.who("centrum", at("2026-06-21 10:00"))) == [ANNA]
    assert [
        primary(after.who("centrum", at(f"{day} 10:00")))[0] for day in ("2026-06-22", "2026-06-29", "2026-07-06")
    ] == [BERTIL, CECILIA, ANNA]
    assert CECILIA in after.members("jour")


def test_a_member_who_leaves_hands_the_rest_of_the_turn_over_and_handoffs_stay_on_mondays(tmp_path):
    left = JOUR.replace(
        'members = ["@anna.a:localhost", "@bertil.b:localhost"]',
        'members = ["@anna.a:localhost", "@bertil.b:localhost"]\n\n[[rotation.change]]\nfrom = 2026-06-17\n'
        'members = ["@cecilia.c:localhost", "@bertil.b:localhost"]',
        1,
    )
    roster = build_roster(tmp_path, jour_toml=left)
    assert primary(roster.who("centrum", at("2026-06-16 10:00"))) == [ANNA]  # the past stays
    assert primary(roster.who("centrum", at("2026-06-17 10:00"))) == [CECILIA]
    assert primary(roster.who("centrum", at("2026-06-21 10:00"))) == [CECILIA]
    assert primary(roster.who("centrum", at("2026-06-22 10:00"))) == [BERTIL]


def problems(tmp_path, **files: str) -> list[str]:
    with pytest.raises(RosterError) as caught:
        load_dir(write_roster(tmp_path, **files))
    return caught.value.problems


def test_bad_dated_entries_name_file_and_entry(tmp_path):
    people = PEOPLE + '\n[[leave]]\nperson = "@okand.o:localhost"\nfrom = 2026-06-17\nto = 2026-06-18\n'
    people += '\n[[leave]]\nperson = "@anna.a:localhost"\nfrom = 2026-06-17\nto = 2026-06-16\n'
    jour = (
        JOUR + '\n[[override]]\nperson = "@bertil.b:localhost"\nfrom = "2026-03-29 02:30"\nto = 2026-03-29T08:00:00\n'
    )
    jour += '\n[[override]]\nperson = "@bertil.b:localhost"\nrole = "supervisor"\nfrom = 2026-06-01\nto = 2026-06-02\n'
    jour = jour.replace(
        'members = ["@anna.a:localhost", "@bertil.b:localhost"]',
        'members = ["@anna.a:localhost", "@bertil.b:localhost"]\n\n[[rotation.change]]\nfrom = 2025-01-01\n'
        'members = ["@cecilia.c:localhost"]',
        1,
    )
    found = problems(tmp_path, people_toml=people, jour_toml=jour)
    expected = [
        ("people.toml: leave #1:", "unknown person @okand.o:localhost"),
        ("people.toml: leave #2:", "'to' 2026-06-16 is not after 'from' 2026-06-17"),
        ("jour.toml: override #1:", "'from'", "does not exist in Europe/Stockholm"),
        ("jour.toml: override #2:", "not among the unit's supervisors"),
        ("jour.toml:", "rotation #1 (primary, Dag): change #1", "must be after the rotation's start"),
    ]
    for fragments in expected:
        assert sum(all(f in p for f in fragments) for p in found) == 1, (fragments, found)
    assert len(found) == len(expected), found


def test_the_examples_show_an_override_and_leave(tmp_path):
    from tests.harness.rosters import EXAMPLES

    roster = load_dir(EXAMPLES)
    swap = [(o.user, o.role) for o in roster.file_overrides]
    assert swap == [(ANNA, "primary"), (BERTIL, "secondary")]
    night = roster.who("farsta", at("2027-02-19 23:00"))
    assert (primary(night), step_users(night, "secondary")) == ([ANNA], [BERTIL])
    assert [leave.user for leave in roster.leave] == [DAVID]
    assert DAVID not in {s.user for s in roster.shifts("skarholmen", at("2027-07-05 00:00"), at("2027-07-26 00:00"))}


def test_a_change_written_as_rotation_change_rewrites_no_turn_begun_and_an_edit_of_members_does(tmp_path):
    from rosters.rewrites import rewritten_turns

    now = at("2026-06-17 10:00")  # Anna A holds the day primary this week
    before = load_dir(write_roster(tmp_path / "before"))
    members = 'members = ["@anna.a:localhost", "@bertil.b:localhost"]'
    change = f"{members}\n\n[[rotation.change]]\nfrom = 2026-06-18\n"
    change += 'members = ["@bertil.b:localhost", "@cecilia.c:localhost"]'
    planned = build_roster(tmp_path / "planned", jour_toml=JOUR.replace(members, change, 1))
    assert rewritten_turns(before, planned, now) == []
    assert primary(planned.who("centrum", at("2026-06-18 10:00"))) == [BERTIL]  # Anna A left: Bertil B from then
    edited = build_roster(tmp_path / "edited", jour_toml=JOUR.replace(members, members.replace("anna.a", "eva.e"), 1))
    assert rewritten_turns(before, edited, now) == [
        "jour.toml: the primary shift from Wed 2026-06-17 08:00+02:00 (and 2 earlier) is Anna A's and would become"
        " Eva E's: a shift already begun is not rewritten. Change members from a coming day with [[rotation.change]];"
        " cover today with an [[override]] (or !byt)"
    ]


def test_a_change_that_takes_effect_on_the_night_the_clocks_spring_forward(tmp_path):
    # Supervisors hand off daily at 02:30, which 29 March 2026 skips: that day's shift starts at 03:00. It was to be
    # Chef C's; from that day only Eva E is left in the rotation, so she takes it, and Chef C's earlier ones stay.
    supervisors = 'members = ["@chef.c:localhost", "@eva.e:localhost"]'
    only_eva = f'{supervisors}\n\n[[rotation.change]]\nfrom = 2026-03-29\nmembers = ["@eva.e:localhost"]'
    before = build_roster(tmp_path / "before")
    after = build_roster(tmp_path / "after", jour_toml=JOUR.replace(supervisors, only_eva))
    for roster, expected in ((before, CHEF), (after, EVA)):
        assert step_users(roster.who("centrum", at("2026-03-29 03:00")), "supervisor")[:1] == [expected]
    assert step_users(after.who("centrum", at("2026-03-29 01:30")), "supervisor")[:1] == [EVA]  # 28th's: Eva's
    assert step_users(after.who("centrum", at("2026-03-27 12:00")), "supervisor")[:1] == [CHEF]  # the past stays
    shifts = [s for s in after.shifts("jour", at("2026-03-28 12:00"), at("2026-03-30 12:00")) if s.role == "supervisor"]
    assert [(s.user, s.start.isoformat()) for s in shifts] == [
        (EVA, "2026-03-28T02:30:00+01:00"),
        (EVA, "2026-03-29T03:00:00+02:00"),
        (EVA, "2026-03-30T02:30:00+02:00"),
    ]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-10-25", "2026-10-25", ("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00")),  # a 25-hour day
        ('"2026-10-25"', '"2026-10-25 12:00"', ("2026-10-25T00:00:00+02:00", "2026-10-25T12:00:00+01:00")),
        (
            "2026-10-25T01:00:00+02:00",
            '"2026-10-25T02:30+01:00"',
            ("2026-10-25T01:00:00+02:00", "2026-10-25T02:30:00+01:00"),
        ),
    ],
)
def test_leave_may_be_written_as_days_local_times_or_times_with_an_offset(tmp_path, start, end, expected):
    people = PEOPLE + f'\n[[leave]]\nperson = "@anna.a:localhost"\nfrom = {start}\nto = {end}\n'
    (leave,) = build_roster(tmp_path, people_toml=people).leave
    assert (leave.start.isoformat(), leave.end.isoformat()) == expected


def test_a_local_time_the_clocks_repeat_needs_an_offset(tmp_path):
    people = PEOPLE + '\n[[leave]]\nperson = "@anna.a:localhost"\nfrom = "2026-10-25 02:30"\nto = 2026-10-26\n'
    (problem,) = problems(tmp_path, people_toml=people)
    assert problem.startswith("people.toml: leave #1: 'from': 2026-10-25 02:30 happens twice in Europe/Stockholm")
