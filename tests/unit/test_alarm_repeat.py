"""An unanswered page is repeated once, at a share of the step's wait: the pure machine with explicit instants.

The default chain waits 2 minutes per step; with `repeat_share=0.5` a page that arrived at 14:02 is repeated at 14:03
and the next step comes at 14:04. Every test says who was reminded and that nobody else was.
"""

from __future__ import annotations

import json
from datetime import timedelta

from bot.alarm import machine
from bot.alarm.machine import Alarm, Outcome, Page, Repeat, SetDeadline, on_accept, on_page_delivered, on_unreachable
from bot.alarm.stats import figures
from tests.harness.alarms import ANNA, BO, CILLA, DAN, T0, at, chain, delivered, on_decline, raised, step


def reminded(outcome: Outcome) -> list[str]:
    return [e.user for e in outcome.effects if isinstance(e, Repeat)]


def pages(outcome: Outcome) -> list[str]:
    return [e.user for e in outcome.effects if isinstance(e, Page)]


def armed(outcome: Outcome) -> list:
    return [e.at for e in outcome.effects if isinstance(e, SetDeadline)]


def with_repeat(c=None, arrive: bool = True) -> Alarm:
    return raised(c, repeat_share=0.5, arrive=arrive).alarm


def test_the_timer_is_armed_for_the_repeat_first_then_for_the_deadline():
    o = raised(repeat_share=0.5, arrive=False)
    assert o.alarm.repeat_at is None, "nothing to repeat before the page has arrived"
    arrived = on_page_delivered(o.alarm, ANNA.user, 0, at(0.25))
    assert (arrived.alarm.repeat_at, arrived.alarm.deadline) == (at(1.25), at(2.25))
    assert armed(arrived) == [at(1.25)] and arrived.alarm.next_due == at(1.25)


def test_the_repeat_pages_the_unanswered_once_and_leaves_the_wait_and_the_figures_alone():
    a = with_repeat()
    assert machine.on_deadline(a, at(1) - timedelta(seconds=1), due=at(1)).changed is False, "early: nothing"
    o = machine.on_deadline(a, at(1), due=at(1))
    assert reminded(o) == [ANNA.user] and pages(o) == []
    assert [e for e in o.effects if isinstance(e, Repeat)] == [Repeat("L42", ANNA.user, "Anna A", 0)]
    assert o.event == "repeated" and o.changed
    after = o.alarm
    assert (after.step, after.deadline, after.escalations, after.paged) == (0, at(2), 0, (ANNA.user,))
    assert after.repeat_at is None and armed(o) == [at(2)], "the timer moves on to the unchanged deadline"
    # Once: the same timer again, or a later wake-up before the deadline, repeats nothing.
    assert machine.on_deadline(after, at(1), due=at(1)).changed is False
    assert machine.on_deadline(after, at(1.5)).changed is False
    # The deadline still moves the alarm on, and only that counts as an escalation.
    moved = machine.on_deadline(after, at(2), due=at(2))
    assert pages(moved) == [BO.user] and reminded(moved) == []
    assert moved.alarm.escalations == 1
    assert figures([moved.alarm], T0, at(60)).escalations == 1


def test_a_stale_timer_is_ignored():
    a = with_repeat()
    next_step = delivered(machine.on_deadline(machine.on_deadline(a, at(1)).alarm, at(2)), at(2)).alarm
    assert next_step.repeat_at == at(3) and next_step.deadline == at(4)
    # Left over from the first step's repeat (or its deadline), firing late: neither repeats nor escalates.
    for stale in (at(1), at(2)):
        o = machine.on_deadline(next_step, at(3), due=stale)
        assert o.alarm is next_step and o.effects == () and not o.changed
    assert reminded(machine.on_deadline(next_step, at(3), due=at(3))) == [BO.user], "Bo only: Anna had hers"


def test_an_acceptance_before_the_repeat_cancels_it():
    a = with_repeat()
    taken = on_accept(a, ANNA.user, at(0.5), is_supervisor=False).alarm
    assert taken.repeat_at is None and taken.next_due is None
    o = machine.on_deadline(taken, at(1), due=at(1))
    assert o.alarm is taken and reminded(o) == [] and o.effects == ()


def test_a_decline_that_ends_the_step_cancels_its_repeat_and_the_next_step_gets_its_own():
    a = with_repeat()
    o = on_decline(a, ANNA.user, "", at(0.5))
    assert pages(o) == [BO.user]
    assert o.alarm.repeat_at == at(1.5), "Bo's page arrived at 14:02:30: his repeat a minute later"
    assert reminded(machine.on_deadline(o.alarm, at(1.5), due=at(1.5))) == [BO.user]


def test_the_repeat_skips_who_declined_became_unreachable_or_has_no_page_yet():
    three = chain(step("primary", ANNA, BO, CILLA), step("unit", DAN))
    a = raised(three, repeat_share=0.5, arrive=False).alarm
    a = on_page_delivered(a, ANNA.user, 0, at(0)).alarm
    a = on_page_delivered(a, BO.user, 0, at(0.2)).alarm
    a = on_decline(a, BO.user, "", at(0.5)).alarm
    a = on_unreachable(a, CILLA.user, "timeout", at(0.9)).alarm
    assert a.repeat_at == at(1)
    assert reminded(machine.on_deadline(a, at(1), due=at(1))) == [ANNA.user]


def test_a_page_that_arrives_after_the_repeat_is_not_repeated():
    a = raised(chain(step("primary", ANNA, BO), step("supervisor", CILLA)), repeat_share=0.5, arrive=False).alarm
    a = on_page_delivered(a, ANNA.user, 0, at(0)).alarm
    o = machine.on_deadline(a, at(1), due=at(1))
    assert reminded(o) == [ANNA.user], "Bo's page has not arrived: there is nothing of his to repeat"
    late = on_page_delivered(o.alarm, BO.user, 0, at(1.5))
    assert late.alarm.repeat_at is None and armed(late) == [at(3.5)], "his arrival sets no second repeat"


def test_a_repeat_and_a_deadline_both_past_escalate_without_a_reminder():
    a = with_repeat()
    o = machine.on_deadline(a, at(30), due=at(1))  # the bot was down through both
    assert pages(o) == [BO.user] and reminded(o) == []
    assert o.alarm.escalations == 1


def test_no_repeat_when_it_is_off_or_the_wait_is_too_short_to_repeat_within():
    assert raised().alarm.repeat_at is None  # repeat_share 0: off
    assert raised(chain(step("primary", ANNA, wait_s=0), step("secondary", BO)), repeat_share=0.5).alarm.repeat_at \
        is None


def test_the_repeat_survives_a_restart_and_old_alarms_read_as_without_one():
    a = with_repeat()
    again = Alarm.from_dict(json.loads(json.dumps(a.to_dict())))
    assert again == a and again.repeat_at == at(1) and again.repeat_share == 0.5
    old = a.to_dict()
    old["v"] = 2
    del old["repeat_at"], old["repeat_share"]
    read = Alarm.from_dict(old)
    assert read.repeat_at is None and read.repeat_share == 0.0
