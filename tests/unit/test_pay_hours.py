"""On-call hours for pay (rosters/pay.py), checked by hand: a month with a DST change, a holiday and an override.

The unit "Natten" has one rotation, Anna A every night 19:00–07:00 from Friday 23 October to Sunday 1 November 2026.
October 2026: the clocks fall back on Sunday the 25th (03:00 becomes 02:00), and Saturday the 31st is Alla helgons
dag, a public holiday. Bertil B covers Wednesday night 22:00–02:00 by an override. The categories, highest first:
big_holiday, holiday, weekend (Friday 19:00 – Monday 07:00), weekday_night (19:00–07:00 from Monday to Friday).
"""

from __future__ import annotations

from datetime import date

import pytest

from rosters import Override, RosterError, load_dir
from rosters.pay import OTHER, big_holidays, easter, pay_hours
from tests.harness.rosters import at, build_roster, write_roster
from tests.unit.test_rosters_cli import run

H = 3600
ANNA, BERTIL = "@anna.a:localhost", "@bertil.b:localhost"

NIGHTS = """
name = "Natten"
phone = "08-000 00 20"
supervisors = ["@chef.c:localhost"]

[[rotation]]
role = "primary"
shift = "19:00-07:00"
every = "daily"
start = 2026-10-23
until = 2026-11-02
members = ["@anna.a:localhost"]
"""


def hours(rows, user):
    (row,) = [r for r in rows if r.user == user]
    return {k: v / H for k, v in row.seconds.items() if v}, row.total / H


def test_october_with_the_clocks_falling_back_a_holiday_and_an_override(tmp_path):
    roster = build_roster(tmp_path, natt_toml=NIGHTS)
    swap = Override(BERTIL, "Bertil B", "natt", "primary", at("2026-10-28 22:00"), at("2026-10-29 02:00"), "B1")
    rows = pay_hours(roster, date(2026, 10, 1), [swap], units=["natt"])
    by_hand_anna = {
        # Fri 23 19–07 (12), Sat 24 19–07 across the fall-back (13 real hours), Sun 25 19–Mon 07 (12): the weekend;
        # Fri 30 19–24 (5): the weekend, until Alla helgons dag begins at midnight.
        "weekend": 12 + 13 + 12 + 5,
        # Mon 26, Tue 27 and Thu 29 (12 each); Wed 28 without Bertil's 22–02: 19–22 and 02–07 (8).
        "weekday_night": 12 + 12 + 8 + 12,
        # Sat 31 00–07 (7) and 19–24 (5): the holiday before the weekend; the night runs on into November, not counted.
        "holiday": 7 + 5,
    }
    assert hours(rows, ANNA) == (by_hand_anna, 42 + 44 + 12)
    assert hours(rows, BERTIL) == ({"weekday_night": 4}, 4)
    assert {(r.unit, r.role, r.name) for r in rows} == {("natt", "primary", "Anna A"), ("natt", "primary", "Bertil B")}


def test_the_clocks_springing_forward_shorten_the_night_and_the_big_holidays_come_first(tmp_path):
    march = NIGHTS.replace("2026-10-23", "2026-03-27").replace("2026-11-02", "2026-03-30")
    roster = build_roster(tmp_path, natt_toml=march)
    # Fri 27 19–07 (12), Sat 28 19–07 across the spring-forward of Sunday 29 March (11), Sun 29 19–07 (12).
    assert hours(pay_hours(roster, date(2026, 3, 1), units=["natt"]), ANNA) == ({"weekend": 35}, 35)
    christmas = NIGHTS.replace("2026-10-23", "2026-12-23").replace("2026-11-02", "2026-12-24")
    roster = build_roster(tmp_path / "jul", natt_toml=christmas)
    # Wednesday 23 December 19:00 to julafton 07:00: a weekday night until midnight, then a big holiday.
    assert hours(pay_hours(roster, date(2026, 12, 1), units=["natt"]), ANNA) == (
        {"weekday_night": 5, "big_holiday": 7}, 12)


def test_a_unit_counts_the_categories_its_file_names_in_its_order_and_the_rest_is_other(tmp_path):
    fewer = NIGHTS + '\n[pay]\ncategories = ["weekday_night", "holiday"]\nweekday_night = "22:00-06:00"\n'
    roster = build_roster(tmp_path, natt_toml=fewer)
    got, total = hours(pay_hours(roster, date(2026, 10, 1), units=["natt"]), ANNA)
    # Nine nights, 12 hours each but 13 across the fall-back and 5 for the last one cut at November: 102 in all.
    # Weekday nights are 22–06 here and come first: those beginning Friday 23, Monday 26 to Friday 30, 8 hours each
    # (Friday 30's runs into the holiday, which comes after them here).
    assert got["weekday_night"] == 6 * 8
    assert got["holiday"] == 1 + 5  # Saturday 31: 06–07 of the night before, and 19–24
    assert total == 102
    assert got[OTHER] == 102 - 48 - 6  # the weekend is not counted by this unit: the rest is ordinary on-call time


def test_a_bad_pay_table_is_refused(tmp_path):
    folder = write_roster(tmp_path, natt_toml=NIGHTS + '\n[pay]\ncategories = ["nights"]\nweekend = "fre 19"\n')
    with pytest.raises(RosterError) as err:
        load_dir(folder)
    text = "\n".join(err.value.problems)
    assert "unknown categories 'nights'" in text and "'weekend': 'fre 19' does not read" in text


def test_easter_and_the_big_holidays():
    assert [easter(y) for y in (2025, 2026, 2027)] == [date(2025, 4, 20), date(2026, 4, 5), date(2027, 3, 28)]
    assert sorted(big_holidays(2026)) == [
        date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 4), date(2026, 4, 5), date(2026, 4, 6),
        date(2026, 6, 19), date(2026, 6, 20), date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26),
        date(2026, 12, 31)]


def test_jourbot_roster_hours_prints_the_month_as_csv_and_refuses_a_bad_month(tmp_path, capsys):
    folder = write_roster(tmp_path, natt_toml=NIGHTS)
    code, out, err = run(capsys, "hours", "--month", "2026-10", "--unit", "natt", "--rosters", str(folder), "--csv")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "month,user,name,unit,role,hours,big_holiday,holiday,weekend,weekday_night,other",
        "2026-10,@anna.a:localhost,Anna A,natt,primary,102.00,0.00,12.00,42.00,48.00,0.00",
    ]
    code, _, err = run(capsys, "hours", "--month", "oktober", "--rosters", str(folder))
    assert code == 2 and "is not a month like 2026-12" in err
