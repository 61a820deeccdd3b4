"""`roster check` beyond gaps: a step that pages nobody new, one person on two shifts at once, too little rest."""

from __future__ import annotations

from rosters import load_dir
from rosters.findings import check_roster
from tests.harness.rosters import EXAMPLES, JOUR, OFFICE, at, build_roster

# The test city over Tuesday 16 June 2026, 08:00 to 20:00. Jouren's secondary works 07-19 on weekdays, and Eva E
# is both its secondary and its supervisor that Tuesday; Anna A holds the day primary all week.


def lines(roster, start: str, end: str, kind: str) -> list[str]:
    return [f.line for f in check_roster(roster, at(start), at(end)) if f.kind == kind]


def test_a_step_nobody_holds_and_a_step_held_by_someone_earlier(tmp_path):
    roster = build_roster(tmp_path)
    assert lines(roster, "2026-06-16 08:00", "2026-06-16 20:00", "step") == [
        "STEP Jouren (jour): step 3 (supervisor) pages only people already earlier in the chain: Eva E (step 2,"
        " secondary), from Tue 2026-06-16 08:00+02:00 to Tue 2026-06-16 19:00+02:00 (11 h)",
        "STEP Jouren (jour): step 2 (secondary) resolves to nobody from Tue 2026-06-16 19:00+02:00 to"
        " Tue 2026-06-16 20:00+02:00 (1 h)",
        "STEP Kontoret (office): step 2 (secondary) resolves to nobody from Tue 2026-06-16 08:00+02:00 to"
        " Tue 2026-06-16 16:30+02:00 (8.5 h)",
    ]


def test_the_last_step_of_a_unit_whose_members_are_all_paged_before_it(tmp_path):
    pair = """
name = "Jouren"
supervisors = ["@chef.c:localhost"]

[[rotation]]
role = "primary"
shift = "08:00-08:00"
every = "daily"
start = 2026-01-01
members = ["@anna.a:localhost", "@bertil.b:localhost"]

[[rotation]]
role = "secondary"
shift = "08:00-08:00"
every = "daily"
start = 2026-01-01
members = ["@bertil.b:localhost", "@anna.a:localhost"]
"""
    roster = build_roster(tmp_path, jour_toml=pair)
    assert [line for line in lines(roster, "2026-06-16 12:00", "2026-06-18 12:00", "step") if "(jour)" in line] == [
        "STEP Jouren (jour): step 4 (unit) pages nobody new: everyone in the unit is already earlier in the chain,"
        " from Tue 2026-06-16 12:00+02:00 to Thu 2026-06-18 12:00+02:00 (48 h)"
    ]


def test_one_person_on_two_shifts_at_once_in_two_units(tmp_path):
    office = (
        OFFICE + '\n[[override]]\nperson = "@anna.a:localhost"\nfrom = "2026-06-16 10:00"\nto = "2026-06-16 12:00"\n'
    )
    roster = build_roster(tmp_path, office_toml=office)
    assert lines(roster, "2026-06-16 08:00", "2026-06-16 20:00", "overlap") == [
        "OVERLAP Anna A (@anna.a:localhost): Jouren primary and Kontoret primary at once from"
        " Tue 2026-06-16 10:00+02:00 to Tue 2026-06-16 12:00+02:00 (2 h)",
        "OVERLAP Eva E (@eva.e:localhost): Jouren secondary and Jouren supervisor at once from"
        " Tue 2026-06-16 08:00+02:00 to Tue 2026-06-16 19:00+02:00 (11 h)",
    ]


def test_rest_shorter_than_the_unit_asks(tmp_path):
    # Anna A's night (Wed 22:00 - Thu 08:00) runs into her day shift (Thu 08-22): one stretch of duty, then 10 h
    # off before Friday's day shift, where Jouren asks for 11.
    roster = build_roster(tmp_path, jour_toml=JOUR.replace('name = "Jouren"', 'name = "Jouren"\nmin_rest_hours = 11'))
    assert lines(roster, "2026-06-17 08:00", "2026-06-19 12:00", "rest") == [
        "REST Anna A (@anna.a:localhost): 10 h rest from Thu 2026-06-18 22:00+02:00 to Fri 2026-06-19 08:00+02:00"
        " (10 h) before Jouren primary; Jouren asks for 11 h",
        "REST Eva E (@eva.e:localhost): 7.5 h rest from Wed 2026-06-17 19:00+02:00 to Thu 2026-06-18 02:30+02:00"
        " (7.5 h) before Jouren supervisor; Jouren asks for 11 h",
    ]
    assert lines(build_roster(tmp_path / "lax"), "2026-06-17 08:00", "2026-06-19 12:00", "rest") == []


def test_the_examples_pass_every_check_over_christmas_and_a_dst_change():
    city = load_dir(EXAMPLES)
    assert check_roster(city, at("2026-12-20 00:00"), at("2027-01-20 00:00")) == []
    assert check_roster(city, at("2027-03-15 00:00"), at("2027-04-15 00:00")) == []
