"""The week and month views place bars by the share of the wall-clock day they cover: a DST day is 23 or 25 hours."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.web.timeline import days, month_span, other_view, week_start
from rosters import Gap, Shift

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def shift(start: datetime, end: datetime, user: str = "@anna.a:localhost", source: str = "rotation") -> Shift:
    return Shift("testjour", "primary", user, "Anna A", start, end, source)


def test_the_spring_forward_night_is_seven_of_twenty_three_hours():
    night = shift(datetime(2026, 3, 28, 20, tzinfo=STOCKHOLM), datetime(2026, 3, 29, 8, tzinfo=STOCKHOLM))
    (saturday, sunday) = days(date(2026, 3, 28), 2, STOCKHOLM, [night], [], date(2026, 3, 28))
    ((role, (late,)), _) = saturday.lanes
    assert role == "primary" and (late.left, late.width) == (83.333, 16.667)
    ((_, (early,)), _) = sunday.lanes
    assert (early.left, early.width) == (0, round(100 * 7 / 23, 3)), "00:00–08:00 is 7 real hours of 23"
    assert f"{early.end:%H:%M}" == "08:00"


def test_the_fall_back_night_is_nine_of_twenty_five_hours_and_a_gap_gets_its_own_lane():
    night = shift(datetime(2026, 10, 24, 20, tzinfo=STOCKHOLM), datetime(2026, 10, 25, 8, tzinfo=STOCKHOLM))
    hole = Gap("tomby", datetime(2026, 10, 25, 8, tzinfo=STOCKHOLM), datetime(2026, 10, 26, tzinfo=STOCKHOLM))
    (sunday,) = days(date(2026, 10, 25), 1, STOCKHOLM, [night], [hole], date(2026, 10, 1))
    (_, (early,)), (gap_role, (gap,)) = sunday.lanes
    assert early.width == round(100 * 9 / 25, 3)
    assert gap_role == "gap" and gap.label == "tomby" and gap.left == early.width and gap.left + gap.width == 100
    assert sunday.has_gap and not sunday.today


def test_an_override_keeps_its_mark_and_weeks_and_months_start_where_people_expect():
    swap = shift(datetime(2026, 11, 26, 8, tzinfo=STOCKHOLM), datetime(2026, 11, 26, 20, tzinfo=STOCKHOLM),
                 "@bertil.b:localhost", "override")
    (thursday,) = days(date(2026, 11, 26), 1, STOCKHOLM, [swap], [], date(2026, 11, 26))
    ((_, (bar,)), (_, gaps)) = thursday.lanes
    assert bar.source == "override" and gaps == () and thursday.today
    assert week_start(date(2026, 11, 26)) == date(2026, 11, 23)  # a Monday
    assert month_span(date(2026, 2, 14)) == (date(2026, 2, 1), 28)
    assert month_span(date(2028, 2, 14)) == (date(2028, 2, 1), 29)


def test_month_from_this_week_opens_the_month_of_today_not_of_the_weeks_monday():
    # A supervisor's first hour: on Thursday 3 December, "Månad" on the week of Mon 30 November opened November.
    monday, today = date(2026, 11, 30), date(2026, 12, 3)
    assert other_view(monday, 7, today) == today
    # Another week that begins in one month and ends in the next: its Thursday decides, as ISO weeks count.
    assert other_view(date(2027, 3, 29), 7, today) == date(2027, 4, 1)
    # From a month that is not this one, "Vecka" opens the month's first week; from this month, this week.
    assert other_view(date(2027, 1, 1), 31, today) == date(2027, 1, 1)
    assert other_view(date(2026, 12, 1), 31, today) == today
