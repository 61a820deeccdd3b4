"""An alarm's timeline in the browser, from its audit entries: who was paged at each step, who did what, and the
phases and handover after acceptance — never a decline reason, a close note or a protection decision."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.alarm import machine
from bot.web.alarmview import moments
from tests.harness.alarms import ANNA, BO, COP, at, on_decline, raised


def entry(minutes: float, actor: str, action: str, **data: object) -> dict[str, object]:
    return {"at": at(minutes).timestamp(), "actor": actor, "action": action, "subject": "L42",
            "data": json.dumps(data)}


def test_the_timeline_names_who_was_paged_at_each_step_and_who_acted():
    alarm = raised().alarm
    alarm = on_decline(alarm, ANNA.user, "sjuk, har feber", at(1)).alarm
    alarm = machine.on_accept(alarm, BO.user, at(2), is_supervisor=False).alarm
    entries = [
        entry(0, COP, "alarm.raised", status="open", step=0),
        entry(1, ANNA.user, "alarm.declined", status="open", step=1),
        entry(2, BO.user, "alarm.accepted", status="accepted", step=1),
        entry(3, "outbox", "alarmroom.opened"),
        entry(5, BO.user, "phase.recorded", phase="en_route", eta_minutes=20),
        entry(30, BO.user, "phase.recorded", phase="assessment", made=True, decision="relative"),
        entry(60, "timer", "handover.listed", unit="farsta"),
        entry(90, "@kontor.k:localhost", "handover.received", unit="farsta"),
    ]
    shown = moments(alarm, entries, {"farsta": "Farsta stadsdelskontor"})
    assert [(m.event, m.who, m.paged, m.detail) for m in shown] == [
        ("raised", "polis.per", ("Anna A",), ""),  # an officer on no roster and of no name: the localpart, no Matrix id
        ("declined", "Anna A", ("Bo B",), ""),
        ("accepted", "Bo B", (), ""),
        ("room_opened", "", (), ""),
        ("phase_en_route", "Bo B", (), "≈ 20 min"),
        ("phase_assessment", "Bo B", (), ""),
        ("handover_listed", "", (), "Farsta stadsdelskontor"),
        ("handover_received", "kontor.k", (), "Farsta stadsdelskontor"),
    ]
    assert f"{shown[0].at:%H:%M}" == "14:02", "times in the unit's zone"
    assert not any("feber" in str(m) or "relative" in str(m) for m in shown)


def test_the_officer_is_shown_by_name_where_the_alarm_knows_it():
    # A supervisor's first hour: the alarm page said "Polis: @polis1:localhost" although the officer had a name.
    alarm = replace(raised().alarm, officer_name="Per Polis")
    (shown,) = moments(alarm, [entry(0, COP, "alarm.raised", status="open", step=0)], {})
    assert shown.who == "Per Polis"


def test_an_assessment_not_made_is_not_shown_as_made():
    alarm = raised().alarm
    (shown,) = moments(alarm, [entry(30, ANNA.user, "phase.recorded", phase="assessment", made=False)], {})
    assert shown.event == "phase_assessment_not"


def test_a_read_page_shows_at_the_receipts_time_and_an_sms_by_whom_and_why_never_its_text():
    alarm = raised().alarm
    entries = [
        entry(0, COP, "alarm.raised", status="open", step=0),
        entry(1, "sms", "sms.sent", user=ANNA.user, why="unseen"),
        # the receipt is written when the sync brings it, a little after the reader opened the page
        {**entry(3, ANNA.user, "page.seen"), "data": json.dumps({"at": at(2).timestamp()})},
    ]
    shown = moments(alarm, entries, {})
    assert [(m.event, m.who, m.why) for m in shown] == [("raised", "polis.per", ""), ("sms_sent", "Anna A", "unseen"),
                                                        ("seen", "Anna A", "")]
    assert shown[2].at == at(2)
    assert not any("Element" in str(m) for m in shown)
