"""Which unit answers for an area, and who in it: office hours, weekends, every kind of Swedish holiday."""

from __future__ import annotations

import pytest

from rosters import load_dir
from tests.harness.rosters import ANNA, BERTIL, CHEF, EXAMPLES, at, primary, step_users


@pytest.fixture(scope="module")
def city():
    return load_dir(EXAMPLES)


def unit_at(city, when: str, area: str = "farsta") -> str:
    return city.who(area, at(when)).unit


@pytest.mark.parametrize(
    ("when", "unit"),
    [
        ("2026-06-17 10:00", "farsta"),  # an ordinary Wednesday
        ("2026-06-17 07:59", "socialjouren"),
        ("2026-06-17 08:00", "farsta"),
        ("2026-06-17 16:29", "farsta"),
        ("2026-06-17 16:30", "socialjouren"),
        ("2026-06-12 15:59", "farsta"),  # Friday closes at 16:00
        ("2026-06-12 16:00", "socialjouren"),
        ("2026-06-13 10:00", "socialjouren"),  # Saturday
        ("2026-06-21 03:00", "socialjouren"),  # 03:00 on a Sunday
        ("2026-06-22 03:00", "socialjouren"),  # 03:00 on a Monday
    ],
)
def test_office_hours_decide_the_unit(city, when, unit):
    assert unit_at(city, when) == unit


def test_sunday_night_has_a_full_chain(city):
    chain = city.who("Farsta", at("2026-06-21 03:00"))
    assert {primary(chain)[0], step_users(chain, "secondary")[0]} == {ANNA, BERTIL}
    assert step_users(chain, "supervisor") == [CHEF]
    assert chain.unit_phone == "08-508 000 00"


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        ("2026-01-01", "nyårsdagen (Thu)"),
        ("2026-01-06", "trettondedag jul (Tue)"),
        ("2026-04-03", "långfredagen"),
        ("2026-04-06", "annandag påsk"),
        ("2026-05-01", "första maj (Fri)"),
        ("2026-05-14", "Kristi himmelsfärdsdag"),
        ("2028-06-06", "nationaldagen (Tue)"),
        ("2026-12-25", "juldagen (Fri)"),
        ("2026-06-19", "midsommarafton (de facto)"),
        ("2026-12-24", "julafton (de facto)"),
        ("2026-12-31", "nyårsafton (de facto)"),
        ("2027-06-25", "midsommarafton 2027"),
    ],
)
def test_weekday_holidays_go_to_socialjouren(city, day, holiday):
    assert unit_at(city, f"{day} 10:00") == "socialjouren", holiday


def test_the_weekday_after_a_holiday_is_an_office_day_again(city):
    assert unit_at(city, "2026-04-07 10:00") == "farsta"  # Tuesday after annandag påsk
    assert unit_at(city, "2026-05-15 10:00") == "farsta"  # Friday after Kristi himmelsfärd


@pytest.mark.parametrize(
    "day",
    [
        "2026-04-02",  # skärtorsdagen, before långfredagen
        "2026-05-13",  # before Kristi himmelsfärd
        "2026-06-18",  # before midsommarafton
        "2026-12-23",  # before julafton
        "2026-12-30",  # before nyårsafton
    ],
)
def test_office_closes_early_the_day_before_a_holiday(city, day):
    assert unit_at(city, f"{day} 12:59") == "farsta"
    assert unit_at(city, f"{day} 13:00") == "socialjouren"


def test_an_ordinary_thursday_does_not_close_early(city):
    assert unit_at(city, "2026-06-11 13:00") == "farsta"


def test_both_areas_share_socialjouren_at_night_but_not_by_day(city):
    assert unit_at(city, "2026-06-17 23:00", "skarholmen") == "socialjouren"
    assert unit_at(city, "2026-06-17 10:00", "Skärholmen") == "skarholmen"


def test_coverage_lists_who_answers_across_a_midsummer_week(city):
    spans = city.coverage("farsta", at("2026-06-18 00:00"), at("2026-06-20 00:00"))
    assert [(s.strftime("%d %H:%M"), e.strftime("%d %H:%M"), u) for s, e, u in spans] == [
        ("18 00:00", "18 08:00", "socialjouren"),
        ("18 08:00", "18 13:00", "farsta"),
        ("18 13:00", "20 00:00", "socialjouren"),
    ]
