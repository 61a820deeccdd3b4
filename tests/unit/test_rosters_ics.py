"""iCalendar: export any unit's or person's shifts, import a unit's shifts, recurring events included."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

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
    exported = unit_ics(city, "socialjouren", start, end, overrides)
    (tmp_path / "jour.ics").write_bytes(exported)
    imported = build_roster(tmp_path, jour_toml=CALENDAR_UNIT).shifts("jour", start, end)
    assert key(imported) == key(original)
    assert {s.source for s in imported} == {"calendar"}
    assert [s.name for s in imported] == [s.name for s in original]


def test_export_is_readable_by_a_calendar_program():
    city = load_dir(EXAMPLES)
    data = unit_ics(city, "socialjouren", at("2026-06-15 00:00"), at("2026-06-16 00:00"), stamp=utc("2026-01-01 00:00"))
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    # Per role night, day, night for primary and secondary, and two 24-hour supervisor shifts.
    assert len({str(e["UID"]) for e in events}) == len(events) == 8
    first = min(events, key=lambda e: e.decoded("DTSTART"))
    assert str(first["SUMMARY"]).startswith("supervisor: @chef.c:localhost (Chef C, Socialjouren)")
    assert first.decoded("DTSTART") == utc("2026-06-14 06:00")  # 08:00 CEST, written in UTC
    assert data == unit_ics(
        city, "socialjouren", at("2026-06-15 00:00"), at("2026-06-16 00:00"), stamp=utc("2026-01-01 00:00")
    )


def test_person_export_gathers_shifts_from_every_unit():
    city = load_dir(EXAMPLES)
    data = person_ics(city, ANNA, at("2026-06-15 00:00"), at("2026-06-22 00:00"))
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    units = {str(e["SUMMARY"]).split(", ")[-1].rstrip(")") for e in events}
    assert units == {"Socialjouren", "Farsta stadsdelsförvaltning"}
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
