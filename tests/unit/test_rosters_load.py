"""Reading roster folders: every problem is reported at once, naming the file and the entry."""

from __future__ import annotations

import pytest

from rosters import RosterError, load_dir
from tests.harness.rosters import ANNA, BERTIL, EXAMPLES, JOUR, OFFICE, PEOPLE, at, build_roster, write_roster


def problems(tmp_path, **files: str) -> list[str]:
    with pytest.raises(RosterError) as caught:
        load_dir(write_roster(tmp_path, **files))
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def one(found: list[str], *fragments: str) -> str:
    matching = [p for p in found if all(f in p for f in fragments)]
    assert len(matching) == 1, (fragments, found)
    return matching[0]


def test_the_examples_and_the_test_city_load(tmp_path):
    city = load_dir(EXAMPLES)
    assert set(city.areas) == {"farsta", "skarholmen"}
    assert set(city.units) == {"farsta", "skarholmen", "socialjouren"}
    assert city.people["@anna.a:localhost"] == "Anna A"
    roster = build_roster(tmp_path)
    assert roster.units["jour"].policy[0].role == "primary" and roster.units["jour"].policy[0].wait_s == 120


def test_unknown_person_in_a_rotation_names_file_rotation_and_person(tmp_path):
    found = problems(
        tmp_path, jour_toml=JOUR.replace('"@eva.e:localhost", "@bertil.b', '"@okand.o:localhost", "@bertil.b')
    )
    one(found, "jour.toml", "rotation #3 (secondary)", "unknown person @okand.o:localhost")


def test_unknown_unit_in_an_area(tmp_path):
    found = problems(tmp_path, areas_toml='[[area]]\nid = "hagsatra"\nname = "Hagsätra"\nother_unit = "jouren"\n')
    one(found, "areas.toml", "area hagsatra", "unknown unit 'jouren'")


def test_overlapping_rotations_for_one_role(tmp_path):
    overlapping = JOUR.replace('shift = "22:00-08:00"', 'shift = "21:00-08:00"')
    one(problems(tmp_path, jour_toml=overlapping), "jour.toml", "primary rotations 'Dag' and 'Natt' overlap")


def test_rotations_that_touch_or_take_turns_by_weekday_do_not_overlap(tmp_path):
    weekday_split = """
name = "Helg"
supervisors = ["@chef.c:localhost"]

[[rotation]]
role = "primary"
shift = "08:00-08:00"
every = "weekly"
days = ["mån", "tis", "ons", "tor", "fre"]
start = 2026-01-05
members = ["@anna.a:localhost"]

[[rotation]]
role = "primary"
shift = "08:00-08:00"
every = "weekly"
days = ["sat", "sun"]
start = 2026-01-05
members = ["@bertil.b:localhost"]
"""
    roster = build_roster(tmp_path, jour_toml=weekday_split)
    assert len(roster.units["jour"].rotations) == 2


def test_a_rotation_that_ends_before_the_next_starts_does_not_overlap(tmp_path):
    handover = (
        JOUR.replace(
            'name = "Dag"\nshift = "08:00-22:00"\nevery = "weekly"\nstart = 2025-12-29',
            'name = "Dag"\nshift = "08:00-22:00"\nevery = "weekly"\nstart = 2025-12-29\nuntil = 2026-06-01',
        )
        + """
[[rotation]]
role = "primary"
name = "Ny dag"
shift = "08:00-22:00"
every = "daily"
start = 2026-06-01
members = ["@eva.e:localhost"]
"""
    )
    roster = build_roster(tmp_path, jour_toml=handover)
    assert len(roster.units["jour"].rotations) == 5
    overlapping = handover.replace("start = 2026-06-01", "start = 2026-05-31")
    one(problems(tmp_path / "b", jour_toml=overlapping), "primary rotations 'Dag' and 'Ny dag' overlap", "2026-05-31")


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ('shift = "8-22"', "bad time '8'"),
        ('shift = "08:00-24:00"', "bad time '24:00'"),
        ('shift = "08:00"', "bad time span"),
        ('shift = "08:60-22:00"', "bad time '08:60'"),
    ],
)
def test_bad_time_format_in_a_rotation(tmp_path, bad, fragment):
    found = problems(tmp_path, jour_toml=JOUR.replace('shift = "08:00-22:00"', bad))
    one(found, "jour.toml", "rotation #1 (primary, Dag)", fragment)


def test_bad_office_hours(tmp_path):
    found = problems(
        tmp_path,
        office_toml=OFFICE.replace('fri = "08:00-16:00"', 'fri = "16:00-08:00"').replace(
            'before_holiday = "13:00"', 'before_holiday = "1 pm"'
        ),
    )
    one(found, "office.toml", "[office_hours]", "'fri'", "closes before it opens")
    one(found, "office.toml", "[office_hours]", "before_holiday", "bad time '1 pm'")


def test_unknown_keys_are_refused_not_ignored(tmp_path):
    found = problems(
        tmp_path,
        jour_toml=JOUR.replace('every = "daily"', 'every = "daily"\nhandof = "08:00"', 1).replace(
            'name = "Jouren"', 'name = "Jouren"\nphon = "1"'
        ),
    )
    one(found, "jour.toml", "rotation #2 (primary, Natt)", "unknown key 'handof'")
    one(found, "jour.toml", "unknown key 'phon'")


def test_every_problem_in_every_file_is_listed_together(tmp_path):
    found = problems(
        tmp_path,
        people_toml='[people]\n"anna" = "Anna A"\n'
        + "\n".join(f'"@{n}:localhost" = "{n}"' for n in ("bertil.b", "chef.c", "cecilia.c", "david.d", "eva.e")),
        areas_toml='[[area]]\nid = "Farsta"\nname = "Farsta"\nother_unit = "jour"\n',
        office_toml=OFFICE.replace('every = "weekly"', 'every = "fortnightly"'),
    )
    one(found, "people.toml", "person anna", "not a Matrix user id")
    one(found, "jour.toml", "rotation #1", "unknown person @anna.a:localhost")
    one(found, "office.toml", "rotation #1 (primary)", "'every'", "fortnightly")
    one(found, "areas.toml", "area Farsta", "lowercase")


def test_invalid_toml_names_the_file(tmp_path):
    one(problems(tmp_path, office_toml="name = = 'Kontoret'\n"), "office.toml", "not valid TOML", "line 1")


def test_missing_files_and_folder(tmp_path):
    one(problems(tmp_path, areas_toml=""), "areas.toml", "missing from the roster folder")
    with pytest.raises(RosterError, match="not a folder"):
        load_dir(tmp_path / "nowhere")


def test_supervisor_rotation_holds_only_the_units_supervisors(tmp_path):
    found = problems(
        tmp_path,
        jour_toml=JOUR.replace('members = ["@chef.c:localhost", "@eva', 'members = ["@david.d:localhost", "@eva'),
    )
    one(
        found,
        "jour.toml",
        "unit jour",
        "@david.d:localhost is on a supervisor shift but not among the unit's supervisors",
    )


def test_office_unit_needs_office_hours_and_other_unit_must_not_have_them(tmp_path):
    areas = '[[area]]\nid = "farsta"\nname = "Farsta"\noffice_unit = "jour"\nother_unit = "office"\n'
    found = problems(tmp_path, areas_toml=areas)
    one(found, "areas.toml", "area farsta", "'office_unit'", "has no [office_hours]")
    one(found, "areas.toml", "area farsta", "'other_unit'", "cannot have [office_hours]")


def test_one_name_for_two_areas_is_refused(tmp_path):
    areas = (
        '[[area]]\nid = "a"\nname = "Sätra"\nother_unit = "jour"\n\n'
        '[[area]]\nid = "b"\nname = "B"\naliases = ["satra"]\nother_unit = "jour"\n'
    )
    one(problems(tmp_path, areas_toml=areas), "areas.toml", "area b", "'satra' is already used by area a")


def test_escalation_policy_is_configurable_and_checked(tmp_path):
    policy = '\n[[escalation]]\nrole = "primary"\nwait_s = 60\n\n[[escalation]]\nrole = "unit"\nwait_s = 30\n'
    roster = build_roster(tmp_path, jour_toml=JOUR + policy)
    assert [(s.role, s.wait_s) for s in roster.units["jour"].policy] == [("primary", 60), ("unit", 30)]
    chain = roster.who("centrum", at("2026-06-17 03:00"))
    assert [(s.role, s.wait_s) for s in chain.steps] == [("primary", 60), ("unit", 30)]
    bad = JOUR + '\n[[escalation]]\nrole = "boss"\n\n[[escalation]]\nrole = "primary"\nwait_s = -1\n'
    found = problems(tmp_path / "bad", jour_toml=bad)
    one(found, "jour.toml", "escalation step #1", "unknown role 'boss'")
    one(found, "jour.toml", "escalation step #2", "'wait_s'")


def test_calendar_file_must_exist(tmp_path):
    one(
        problems(tmp_path, jour_toml='calendar = "jour.ics"\n' + JOUR),
        "jour.ics",
        "missing",
    )


def test_a_person_may_have_a_phone_number_in_e164(tmp_path):
    people = PEOPLE.replace(
        '"@anna.a:localhost" = "Anna A"', '"@anna.a:localhost" = { name = "Anna A", phone = "+46701740605" }'
    )
    roster = build_roster(tmp_path, people_toml=people)
    assert roster.phone(ANNA) == "+46701740605"
    assert roster.people[ANNA] == "Anna A"
    assert roster.phone(BERTIL) is None
    assert load_dir(EXAMPLES).phone(ANNA) == "+46701740605"


@pytest.mark.parametrize("phone", ["070-174 06 05", "0701740605", "+46 70 174 06 05", "+0701740605", "+4670"])
def test_a_phone_number_not_in_e164_names_file_and_person(tmp_path, phone):
    people = PEOPLE.replace(
        '"@bertil.b:localhost" = "Bertil B"', f'"@bertil.b:localhost" = {{ name = "Bertil B", phone = "{phone}" }}'
    )
    found = problems(tmp_path, people_toml=people)
    one(found, "people.toml", f"person {BERTIL}", f"phone {phone!r} is not in E.164 form")


def test_a_person_table_needs_a_name_and_knows_only_name_and_phone(tmp_path):
    people = PEOPLE.replace(
        '"@bertil.b:localhost" = "Bertil B"', '"@bertil.b:localhost" = { telefon = "+46701740606" }'
    )
    found = problems(tmp_path, people_toml=people)
    one(found, "people.toml", f"person {BERTIL}", "unknown key 'telefon'")
    one(found, "people.toml", f"person {BERTIL}", "missing 'name'")
