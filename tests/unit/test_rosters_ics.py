"""iCalendar: export any unit's or person's shifts, import a unit's shifts, recurring events included."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

from bot.core.i18n import calendar_words
from rosters import Override, RosterError, load_dir
from rosters.ics import person_ics, unit_ics
from tests.harness.rosters import (
    ANNA,
    BERTIL,
    CHEF,
    EVA,
    EXAMPLES,
    at,
    build_roster,
    primary,
    utc,
    write_roster,
)

SV = calendar_words("sv")  # the words come from the bot's catalogs (bot/core/locale), as in the bot's own feeds

CALENDAR_UNIT = """
name = "Kalenderjouren"
supervisors = ["@chef.c:localhost"]
calendar = "jour.ics"
"""


def ics(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip().replace(chr(10), chr(13) + chr(10))}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\n{body}END:VCALENDAR\r\n"


def key(shifts):
    return [(s.role, s.user, s.start.timestamp(), s.end.timestamp()) for s in shifts]


@pytest.mark.parametrize("week", ["2026-06-15", "2026-10-21"])  # an ordinary week, and one with the autumn DST change
def test_export_then_import_gives_the_same_shifts(tmp_path, week):
    city = load_dir(EXAMPLES)
    start, end = at(f"{week} 00:00"), at(f"{week} 00:00") + timedelta(days=6)
    overrides = [Override(EVA, "Eva E", "socialjouren", "primary", at(f"{week} 10:00"), at(f"{week} 12:30"))]
    original = city.shifts("socialjouren", start, end, overrides)
    assert any(s.source == "override" for s in original)
    exported = unit_ics(city, "socialjouren", start, end, SV, overrides)
    (tmp_path / "jour.ics").write_bytes(exported)
    imported = build_roster(tmp_path, jour_toml=CALENDAR_UNIT).shifts("jour", start, end)
    assert key(imported) == key(original)
    assert {s.source for s in imported} == {"calendar"}
    assert [s.name for s in imported] == [s.name for s in original]


def test_export_is_readable_by_a_calendar_program():
    city = load_dir(EXAMPLES)
    data = unit_ics(
        city, "socialjouren", at("2026-06-15 00:00"), at("2026-06-16 00:00"), SV, stamp=utc("2026-01-01 00:00")
    )
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    # Per role night, day, night for primary and secondary, and two 24-hour supervisor shifts.
    assert len({str(e["UID"]) for e in events}) == len(events) == 8
    first = min(events, key=lambda e: e.decoded("DTSTART"))
    assert str(first["SUMMARY"]) == "Socialjouren – jourchef: Chef C"
    assert first.decoded("DTSTART") == utc("2026-06-14 06:00")
    assert first["DTSTART"].params["TZID"] == "Europe/Stockholm" and first["DTSTART"].to_ical() == b"20260614T080000"
    (zone,) = icalendar.Calendar.from_ical(data).walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Stockholm"
    summaries = sorted(str(e["SUMMARY"]) for e in events)
    assert "Socialjouren – primärjour, dag: Bertil B" in summaries
    assert "Socialjouren – bakjour, dag: Anna A" in summaries
    assert data == unit_ics(
        city, "socialjouren", at("2026-06-15 00:00"), at("2026-06-16 00:00"), SV, stamp=utc("2026-01-01 00:00")
    )


def test_person_export_gathers_shifts_from_every_unit():
    city = load_dir(EXAMPLES)
    data = person_ics(city, ANNA, at("2026-06-15 00:00"), at("2026-06-22 00:00"), SV)
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    units = {str(e["SUMMARY"]).split(" – ")[0] for e in events}
    assert units == {"Socialjouren", "Farsta stadsdelsförvaltning"}
    assert "Socialjouren – bakjour, dag" in {str(e["SUMMARY"]) for e in events}  # her own: no name after it
    assert all(str(e["X-JOURBOT-USER"]) == ANNA for e in events)


def test_recurring_calendar_with_tzid_follows_the_wall_clock_across_dst(tmp_path):
    # Anna every Monday and Wednesday 08:00-16:30 Stockholm time, from before to after the spring change.
    calendar = ics(
        """
UID:mon-wed@test
SUMMARY:primär: @anna.a:localhost Anna A
DTSTART;TZID=Europe/Stockholm:20260316T080000
DTEND;TZID=Europe/Stockholm:20260316T163000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260430T000000Z
"""
    )
    roster = build_roster(tmp_path, jour_toml=CALENDAR_UNIT, jour_ics=calendar)
    assert primary(roster.who("centrum", utc("2026-03-23 07:00"))) == [ANNA]  # 08:00 CET
    assert primary(roster.who("centrum", utc("2026-03-30 06:00"))) == [ANNA]  # 08:00 CEST
    assert primary(roster.who("centrum", utc("2026-03-30 05:59"))) == []
    assert primary(roster.who("centrum", at("2026-03-31 10:00"))) == []  # a Tuesday
    assert primary(roster.who("centrum", at("2026-04-29 16:29"))) == [ANNA]
    assert primary(roster.who("centrum", at("2026-05-04 10:00"))) == []  # after UNTIL
    shifts = roster.shifts("jour", at("2026-03-23 00:00"), at("2026-04-06 00:00"))
    assert [s.start.strftime("%a %d %H:%M") for s in shifts] == [
        "Mon 23 08:00",
        "Wed 25 08:00",
        "Mon 30 08:00",
        "Wed 01 08:00",
    ]
    assert all(s.duration == timedelta(hours=8, minutes=30) for s in shifts)


def test_calendar_properties_floating_times_and_all_day_events(tmp_path):
    calendar = ics(
        """
UID:week@test
X-JOURBOT-ROLE:secondary
X-JOURBOT-USER:@bertil.b:localhost
SUMMARY:Bertil har veckan
DTSTART;VALUE=DATE:20260615
DTEND;VALUE=DATE:20260622
""",
        """
UID:night@test
SUMMARY:primary: @eva.e:localhost
DTSTART:20260617T220000
DTEND:20260618T080000
""",
        """
UID:cover@test
SUMMARY:primary: @anna.a:localhost
DTSTART:20260617T230000
DTEND:20260618T010000
""",
    )
    roster = build_roster(tmp_path, jour_toml=CALENDAR_UNIT, jour_ics=calendar)
    chain = roster.who("centrum", at("2026-06-17 22:30"))  # floating times are Stockholm time
    assert primary(chain) == [EVA]
    assert [p.user for s in chain.steps if s.role == "secondary" for p in s.people] == [BERTIL]
    assert primary(roster.who("centrum", at("2026-06-18 00:30"))) == [ANNA]  # the later-starting event wins
    assert primary(roster.who("centrum", at("2026-06-18 01:00"))) == [EVA]
    assert roster.who("centrum", at("2026-06-22 00:00")).steps[1].people == ()  # the all-day week has ended


def test_calendar_problems_name_the_file_and_the_event(tmp_path):
    calendar = ics(
        "UID:a@test\nSUMMARY:primary: @okand.o:localhost\nDTSTART:20260617T080000Z\nDTEND:20260617T160000Z",
        "UID:b@test\nSUMMARY:Anna jobbar\nDTSTART:20260618T080000Z\nDTEND:20260618T160000Z",
        "UID:c@test\nSUMMARY:supervisor: @eva.e:localhost\nDTSTART:20260618T080000Z\nDTEND:20260618T160000Z",
    )
    with pytest.raises(RosterError) as caught:
        load_dir(write_roster(tmp_path, jour_toml=CALENDAR_UNIT, jour_ics=calendar))
    text = str(caught.value)
    assert "jour.ics: event a@test (primary: @okand.o:localhost): unknown person @okand.o:localhost" in text
    assert "jour.ics: event b@test (Anna jobbar): does not name a role" in text
    assert "@eva.e:localhost is on a supervisor shift but not among the unit's supervisors" in text
    assert CHEF not in text


def test_a_calendar_shows_overrides_and_leave_in_swedish_or_english_across_a_dst_change(tmp_path):
    # The autumn change, Sunday 25 October 2026: Anna A is away that day and Bertil B stands in for her day shift;
    # Eva E takes Monday's 10-12 as an override made in chat.
    people = """
[people]
"@anna.a:localhost" = "Anna A"
"@bertil.b:localhost" = "Bertil B"
"@chef.c:localhost" = "Chef C"
"@eva.e:localhost" = "Eva E"

[[leave]]
person = "@anna.a:localhost"
from = 2026-10-25
to = 2026-10-25
"""
    unit = """
name = "Socialjouren"
supervisors = ["@chef.c:localhost"]

[[rotation]]
role = "primary"
name = "Dag"
shift = "08:00-20:00"
every = "weekly"
start = 2026-10-20
members = ["@anna.a:localhost", "@bertil.b:localhost"]
"""
    roster = build_roster(
        tmp_path,
        people_toml=people,
        jour_toml=unit,
        office_toml="",
        areas_toml='[[area]]\nid = "c"\nname = "C"\nother_unit = "jour"\n',
    )
    chat = [Override(EVA, "Eva E", "jour", "primary", at("2026-10-26 10:00"), at("2026-10-26 12:00"), "B1")]
    data = unit_ics(roster, "jour", at("2026-10-25 00:00"), at("2026-10-27 00:00"), SV, chat, utc("2026-01-01 00:00"))
    events = sorted(icalendar.Calendar.from_ical(data).walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert [(str(e["SUMMARY"]), e["DTSTART"].to_ical().decode(), e["DTEND"].to_ical().decode()) for e in events] == [
        ("Socialjouren – primärjour, dag (för Anna A, ledig): Bertil B", "20261025T080000", "20261025T200000"),
        ("Socialjouren – primärjour, dag: Anna A", "20261026T080000", "20261026T100000"),
        ("Socialjouren – primärjour (byte): Eva E", "20261026T100000", "20261026T120000"),
        ("Socialjouren – primärjour, dag: Anna A", "20261026T120000", "20261026T200000"),
    ]
    assert events[0].decoded("DTSTART") == utc("2026-10-25 07:00")  # 08:00 CET, the day the clocks went back
    english = unit_ics(roster, "jour", at("2026-10-25 00:00"), at("2026-10-26 00:00"), calendar_words("en"))
    (event,) = icalendar.Calendar.from_ical(english).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Socialjouren – primary, dag (for Anna A, on leave): Bertil B"
    mine = person_ics(roster, ANNA, at("2026-10-25 00:00"), at("2026-10-27 00:00"), SV, chat)
    assert [str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(mine).walk("VEVENT")] == [
        "Socialjouren – primärjour, dag",
        "Socialjouren – primärjour, dag",
    ]  # not the Sunday she is away


def test_feeds_cover_two_weeks_back_and_three_months_ahead():
    from rosters.ics import person_feed, unit_feed

    city = load_dir(EXAMPLES)
    now = at("2026-11-25 14:02")
    feed_events = icalendar.Calendar.from_ical(unit_feed(city, "farsta", now, SV)).walk("VEVENT")
    starts = [e.decoded("DTSTART") for e in feed_events]
    assert min(starts) >= at("2026-11-11 00:00") - timedelta(days=1) and max(starts) < at("2027-02-26 00:00")
    assert min(starts) < at("2026-11-13 00:00") and max(starts) > at("2027-02-20 00:00")
    feed = icalendar.Calendar.from_ical(person_feed(city, ANNA, now, SV))
    assert str(feed["X-WR-CALNAME"]) == "Anna A" and feed.walk("VTIMEZONE")


def test_a_calendar_event_of_someone_on_leave_does_not_hold(tmp_path):
    calendar = ics(
        """
UID:week@test
SUMMARY:primary: @anna.a:localhost
DTSTART;TZID=Europe/Stockholm:20260615T080000
DTEND;TZID=Europe/Stockholm:20260619T080000
"""
    )
    people = (
        '[people]\n"@anna.a:localhost" = "Anna A"\n"@chef.c:localhost" = "Chef C"\n'
        '"@bertil.b:localhost" = "Bertil B"\n"@cecilia.c:localhost" = "Cecilia C"\n"@david.d:localhost" = "David D"\n'
        '"@eva.e:localhost" = "Eva E"\n\n[[leave]]\nperson = "@anna.a:localhost"\nfrom = 2026-06-17\nto = 2026-06-17\n'
    )
    roster = build_roster(tmp_path, jour_toml=CALENDAR_UNIT, jour_ics=calendar, people_toml=people)
    assert primary(roster.who("centrum", at("2026-06-16 12:00"))) == [ANNA]
    assert primary(roster.who("centrum", at("2026-06-17 12:00"))) == []  # a gap the check reports
    assert [
        (s.start.day, s.end.day) for s in roster.shifts("jour", at("2026-06-15 00:00"), at("2026-06-20 00:00"))
    ] == [
        (15, 17),
        (18, 19),
    ]
