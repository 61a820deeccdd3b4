"""The browser's leave form read as people.toml is: days whole, times in the person's zone, DST days included."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.web.leaveform import parse_leave
from rosters import Leave, load_dir
from tests.harness.rosters import EXAMPLES

ROSTER = load_dir(EXAMPLES)
NOW = datetime(2026, 10, 20, 9, tzinfo=UTC)
ANNA = "@anna.a:localhost"


def test_days_are_whole_also_over_the_night_the_clocks_go_back():
    leave = parse_leave({"user": ANNA, "start": "2026-10-24", "end": "2026-10-25"}, ROSTER, NOW, "sv")
    assert isinstance(leave, Leave)
    assert (leave.start.isoformat(), leave.end.isoformat()) == ("2026-10-24T00:00:00+02:00",
                                                                "2026-10-26T00:00:00+01:00")
    assert leave.end.timestamp() - leave.start.timestamp() == 49 * 3600


def test_a_repeated_local_time_needs_an_offset_and_a_browsers_datetime_is_read_in_the_units_zone():
    refused = parse_leave({"user": ANNA, "start": "2026-10-25T02:30", "end": "2026-10-26"}, ROSTER, NOW, "sv")
    assert isinstance(refused, str) and "02:30" in refused
    leave = parse_leave({"user": ANNA, "start": "2026-10-25T02:30+01:00", "end": "2026-10-26T08:00"}, ROSTER, NOW,
                        "en")
    assert isinstance(leave, Leave) and leave.end.isoformat() == "2026-10-26T08:00:00+01:00"


def test_a_reason_is_kept_on_one_line():
    leave = parse_leave({"user": ANNA, "start": "2026-10-24", "end": "2026-10-24", "reason": " vab\n  igen "},
                        ROSTER, NOW, "sv")
    assert isinstance(leave, Leave) and leave.reason == "vab igen"
