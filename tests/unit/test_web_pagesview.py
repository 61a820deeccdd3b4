"""What the alarm page says of each SMS: sent when, failed and why, waiting for another try, or no longer needed."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.channels.sms.channel import SmsOutcome
from bot.web.pagesview import seen_by_name, sms_lines
from tests.harness.alarms import ANNA, BO, at, raised

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def outcome(user: str, status: str, attempts: int = 1, sent: float | None = None, failure: str = "",
            why: str = "unseen") -> SmsOutcome:
    return SmsOutcome(user, why, status, attempts, at(1).timestamp(), sent, failure)


def test_each_sms_is_told_by_whom_why_and_how_it_went():
    alarm = raised().alarm
    lines = sms_lines(alarm, [
        outcome(ANNA.user, "sent", sent=at(3).timestamp()),
        outcome(BO.user, "failed", failure="rejected", why="unreachable"),
        outcome(ANNA.user, "pending", attempts=2, failure="timeout", why="fallback"),
        outcome(BO.user, "pending", attempts=0),
        outcome(BO.user, "dropped", failure="the alarm no longer needs it"),
    ], STOCKHOLM, "sv")
    assert [(line.name, line.why, line.outcome) for line in lines] == [
        ("Anna A", "sidan inte läst i tid", "skickat 14:05"),
        ("Bo B", "sidan gick inte fram", "gick inte att skicka: numret godtogs inte"),
        ("Anna A", "ingen tog larmet", "försöker igen (2 försök hittills): SMS-tjänsten svarade inte"),
        ("Bo B", "sidan inte läst i tid", "väntar på att skickas"),
        ("Bo B", "sidan inte läst i tid", "behövdes inte längre"),
    ]
    assert sms_lines(alarm, [outcome(ANNA.user, "sent", sent=at(3).timestamp())], STOCKHOLM, "en")[0].outcome \
        == "sent 14:05"


def test_seen_is_by_name_at_the_wall_clock():
    alarm = raised().alarm
    assert seen_by_name(alarm, {ANNA.user: at(10)}, STOCKHOLM) == {"Anna A": "14:12"}
