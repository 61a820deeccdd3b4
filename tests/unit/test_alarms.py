"""The alarm lifecycle, transition by transition, with an injected clock and no Matrix.

Every test that moves the alarm checks who was paged and that nobody else was: an unexpected page wakes someone at
night for nothing, a missing one leaves a child waiting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.alarm import machine
from bot.alarm.machine import (
    Alarm,
    AnnounceUnit,
    Answer,
    ClearDeadline,
    Notify,
    Outcome,
    Page,
    SetDeadline,
    on_accept,
    on_close,
    on_page_delivered,
    on_unreachable,
)
from bot.alarm.stats import figures
from bot.alarm.texts import render
from bot.core.figures import AreaFigures
from bot.core.ids import alarm_id, parse_alarm_id
from handlers.alarm import Ambiguous, pick_alarm
from rosters.chain import Chain
from tests.harness.alarms import (
    ANNA,
    BO,
    CHEF,
    CILLA,
    COP,
    DAN,
    DELIVERY_S,
    EVA,
    PHONE,
    POLICE_EVENT,
    POLICE_ROOM,
    STHLM,
    STRANGER,
    T0,
    at,
    chain,
    delivered,
    on_deadline,
    on_decline,
    raised,
    step,
)


def pages(outcome: Outcome) -> list[str]:
    return [e.user for e in outcome.effects if isinstance(e, Page)]


def police(outcome: Outcome) -> list[str]:
    """The police room's messages, rendered in Swedish; each must be a reply to the !larm event."""
    out = []
    for e in outcome.effects:
        if isinstance(e, Notify) and e.to_room == POLICE_ROOM:
            assert e.reply_to == POLICE_EVENT
            out.append(render(e, "sv"))
    return out


def dms(outcome: Outcome, key: str) -> list[str]:
    return [e.to_user for e in outcome.effects if isinstance(e, Notify) and e.to_user and e.key == key]


def replies(outcome: Outcome) -> list[str]:
    return [e.key for e in outcome.effects if isinstance(e, Answer)]


def deadlines(outcome: Outcome) -> list[datetime]:
    return [e.at for e in outcome.effects if isinstance(e, SetDeadline)]


def cleared(outcome: Outcome) -> bool:
    return any(isinstance(e, ClearDeadline) for e in outcome.effects)


def assert_refused(before: Alarm, outcome: Outcome, key: str) -> None:
    assert outcome.alarm is before
    assert outcome.changed is False
    assert [(type(e), e.key) for e in outcome.effects] == [(Answer, key)]


def exhausted_alarm() -> Alarm:
    a = raised().alarm
    for minute in (2, 4, 6, 8):
        a = on_deadline(a, at(minute)).alarm
    assert a.status == "exhausted"
    return a


# ------------------------------------------------------------------------------------------------------------ raise


def test_raise_pages_only_the_primary_and_answers_the_police_with_who_is_paged():
    o = raised()
    assert pages(o) == [ANNA.user]
    assert police(o) == ["🚨 Larm L42 (Farsta) registrerat 14:02. Söker: Anna A (Socialjouren)."]
    assert deadlines(o) == [T0 + timedelta(seconds=DELIVERY_S + 120)]  # at the latest, if the page never arrives
    a = o.alarm  # the page arrived at once: the wait runs from then
    assert (a.id, a.status, a.step, a.paged, a.deadline) == ("L42", "open", 0, (ANNA.user,), at(2))
    assert o.changed and o.event == "raised"


def test_raise_tells_the_unit_room_without_anything_but_area_time_and_names():
    o = raised()
    unit = [e for e in o.effects if isinstance(e, AnnounceUnit)]
    assert [(e.unit, render(e, "sv")) for e in unit] == [("socialjouren", "🚨 L42 (Farsta) 14:02: söker Anna A.")]


def test_page_effect_names_the_person_and_step():
    assert [e for e in raised().effects if isinstance(e, Page)] == [Page("L42", ANNA.user, "Anna A", 0)]


def test_times_follow_summer_time_in_stockholm():
    summer = datetime(2025, 7, 1, 12, 30, tzinfo=UTC)  # 14:30 CEST
    assert police(raised(chain(step("primary", ANNA), at=summer), now=summer))[0].endswith(
        "registrerat 14:30. Söker: Anna A (Socialjouren)."
    )


def test_raise_with_naive_clock_is_a_programming_error():
    with pytest.raises(ValueError):
        raised(now=datetime(2025, 3, 4, 14, 2))


# --------------------------------------------------------------------------------------------------------- deadline


def test_deadline_pages_the_next_step_only_and_tells_the_police():
    a = raised().alarm
    o = on_deadline(a, at(2))
    assert pages(o) == [BO.user]
    assert police(o) == ["⏫ L42: ingen har accepterat larmet än. Söker nu även: Bo B (Socialjouren)."]
    assert o.alarm.deadline == at(4)
    assert o.alarm.paged == (ANNA.user, BO.user)
    assert o.alarm.escalations == 1
    assert o.event == "escalated"


def test_early_deadline_does_nothing():
    a = raised().alarm
    o = on_deadline(a, at(2) - timedelta(seconds=1))
    assert o.alarm is a and o.effects == () and not o.changed


def test_duplicate_deadline_does_nothing_the_second_time():
    a = raised().alarm
    first = on_deadline(a, at(2))
    second = on_deadline(first.alarm, at(2))
    assert pages(first) == [BO.user]
    assert second.alarm is first.alarm and second.effects == ()


def test_stale_timer_firing_late_is_ignored_when_its_due_time_is_given():
    a = on_deadline(raised().alarm, at(2)).alarm  # now due at 14:06
    o = on_deadline(a, at(10), due=at(2))
    assert o.alarm is a and o.effects == ()
    assert pages(on_deadline(a, at(10), due=at(4))) == [CILLA.user]


def test_deadline_missed_while_down_pages_one_step_and_gives_it_its_full_wait():
    a = raised().alarm
    o = on_deadline(a, at(30))  # bot was down for half an hour
    assert pages(o) == [BO.user]
    assert o.alarm.deadline == at(32)


def test_deadline_after_accept_or_close_does_nothing():
    a = raised().alarm
    accepted = on_accept(a, ANNA.user, at(1), is_supervisor=False).alarm
    closed = on_close(a, CHEF, "", at(1), is_supervisor=True).alarm
    for done in (accepted, closed):
        o = on_deadline(done, at(5))
        assert o.alarm is done and o.effects == ()


def test_the_whole_chain_then_fallback_to_police_and_supervisors():
    a = raised().alarm
    seen = [ANNA.user]
    o2 = on_deadline(a, at(2))
    o3 = on_deadline(o2.alarm, at(4))
    o4 = on_deadline(o3.alarm, at(6))
    assert pages(o2) == [BO.user]
    assert pages(o3) == [CILLA.user]
    # The unit step pages only those not already paged.
    assert pages(o4) == [DAN.user, EVA.user]
    seen += pages(o2) + pages(o3) + pages(o4)
    assert o4.alarm.paged == tuple(seen)

    o5 = on_deadline(o4.alarm, at(8))
    assert pages(o5) == []
    assert police(o5) == ["⚠️ Ingen har accepterat L42. Ring Socialjouren direkt: 08-600 00 00"]
    assert dms(o5, "alarm.fallback") == [CHEF]
    assert cleared(o5) and deadlines(o5) == []
    assert o5.alarm.status == "exhausted" and o5.alarm.deadline is None and o5.alarm.fallback_at == at(8)
    assert o5.event == "exhausted"
    # Nothing more happens on its own after the fallback.
    assert on_deadline(o5.alarm, at(20)).effects == ()


# ------------------------------------------------------------------------------------------- delivery and reachability


def test_the_wait_starts_when_the_page_arrives_not_when_it_was_sent():
    o = raised(arrive=False)
    assert o.alarm.deadline == at(3)  # provisional: delivery deadline plus the wait
    late = on_page_delivered(o.alarm, ANNA.user, 0, at(0.75))  # held up 45 s by the homeserver
    assert late.alarm.deadline == at(2.75)
    assert [e.at for e in late.effects if isinstance(e, SetDeadline)] == [at(2.75)]
    assert machine.on_deadline(late.alarm, at(2)).effects == ()  # Anna still has her two minutes
    assert pages(machine.on_deadline(late.alarm, at(2.75))) == [BO.user]


def test_a_step_of_two_waits_for_the_later_delivery():
    a = raised(chain(step("primary", ANNA, BO), step("supervisor", CILLA)), arrive=False).alarm
    a = on_page_delivered(a, ANNA.user, 0, at(0)).alarm
    a = on_page_delivered(a, BO.user, 0, at(0.5)).alarm
    assert a.deadline == at(2.5)


def test_a_late_delivery_of_an_earlier_step_changes_nothing():
    a = on_deadline(raised().alarm, at(2)).alarm  # Bo's step, his page delivered at once
    o = on_page_delivered(a, ANNA.user, 0, at(3))
    assert o.alarm is a and not o.changed


def test_unreachable_only_target_moves_on_at_once_and_says_so_in_plain_words():
    a = raised(arrive=False).alarm
    o = on_unreachable(a, ANNA.user, "forbidden", at(0.1))
    assert pages(o) == [BO.user]
    assert police(o) == [
        "⚠️ L42: Anna A kunde inte nås (servern lät inte jourboten skriva dit).",
        "⏫ L42: ingen har accepterat larmet än. Söker nu även: Bo B (Socialjouren).",
    ]
    assert dms(o, "alarm.unreachable_supervisor") == [CHEF]
    assert o.event == "unreachable" and o.alarm.unreachable == ((ANNA.user, "forbidden"),)
    # Anna is not paged again in the unit step.
    a = delivered(o, at(0.1)).alarm
    a = on_deadline(a, at(2.1)).alarm
    assert pages(on_deadline(a, at(4.1))) == [DAN.user, EVA.user]


def test_unreachable_one_of_two_waits_for_the_other():
    a = raised(chain(step("primary", ANNA, BO), step("supervisor", CILLA))).alarm
    o = on_unreachable(a, ANNA.user, "timeout", at(1))
    assert pages(o) == [] and o.alarm.deadline == at(2)
    assert police(o) == ["⚠️ L42: Anna A kunde inte nås (sökningen kom inte fram i tid)."]
    after = on_decline(o.alarm, BO.user, "", at(1.5))
    assert pages(after) == [CILLA.user]


def test_unreachable_last_step_falls_back_to_the_police():
    a = raised(chain(step("primary", ANNA)), arrive=False).alarm
    o = on_unreachable(a, ANNA.user, "no_trusted_device", at(1))
    assert police(o)[-1] == "⚠️ Ingen har accepterat L42. Ring Socialjouren direkt: 08-600 00 00"
    assert o.alarm.status == "exhausted" and cleared(o)


def test_unreachable_after_acceptance_or_twice_changes_nothing():
    a = raised(chain(step("primary", ANNA, BO))).alarm
    taken = on_accept(a, BO.user, at(1), is_supervisor=False).alarm
    assert on_unreachable(taken, ANNA.user, "forbidden", at(2)).changed is False
    once = on_unreachable(a, ANNA.user, "forbidden", at(1)).alarm
    again = on_unreachable(once, ANNA.user, "timeout", at(2))
    assert again.alarm is once and again.effects == ()


def test_reasons_read_in_english_too():
    a = raised(chain(step("primary", ANNA), step("secondary", BO))).alarm
    o = on_unreachable(a, ANNA.user, "unknown_user", at(1))
    police_line = next(e for e in o.effects if isinstance(e, Notify) and e.key == "alarm.unreachable")
    assert render(police_line, "en") == "⚠️ L42: Anna A could not be reached (the account does not exist on the server)."


def test_alarms_stored_before_delivery_tracking_still_load():
    data = raised().alarm.to_dict()
    for key in ("delivered", "unreachable", "delivery_s"):
        data.pop(key)
    data["v"] = 1
    old = Alarm.from_dict(data)
    assert old.unreachable == () and old.delivered == frozenset() and old.delivery_s == 60


# ---------------------------------------------------------------------------------------------------------- decline


def test_decline_by_the_only_current_target_escalates_at_once():
    a = raised().alarm
    o = on_decline(a, ANNA.user, "sjuk", at(0.5))
    assert pages(o) == [BO.user]
    assert replies(o) == ["alarm.decline_ok"]
    assert police(o) == ["⏫ L42: ingen har accepterat larmet än. Söker nu även: Bo B (Socialjouren)."]
    assert o.alarm.deadline == at(2.5)
    assert o.alarm.declined == {ANNA.user}
    assert o.alarm.decline_reasons == ((ANNA.user, "sjuk"),)
    assert o.event == "declined"


def test_decline_by_one_of_two_current_targets_waits_for_the_other():
    a = raised(chain(step("primary", ANNA, BO), step("supervisor", CILLA))).alarm
    assert pages(raised(chain(step("primary", ANNA, BO), step("supervisor", CILLA)))) == [ANNA.user, BO.user]
    first = on_decline(a, ANNA.user, "", at(0.5))
    assert pages(first) == [] and deadlines(first) == [] and police(first) == []
    assert first.alarm.deadline == at(2)
    second = on_decline(first.alarm, BO.user, "", at(1))
    assert pages(second) == [CILLA.user]


def test_decline_by_someone_not_paged_is_refused_and_changes_nothing():
    a = raised().alarm
    assert_refused(a, on_decline(a, STRANGER, "", at(1)), "alarm.not_paged")
    # Bo is in the chain but not paged yet.
    assert_refused(a, on_decline(a, BO.user, "", at(1)), "alarm.not_paged")


def test_supervisor_cannot_decline_an_alarm_they_were_not_paged_for():
    a = raised().alarm
    assert_refused(a, on_decline(a, CHEF, "", at(1)), "alarm.not_paged")


def test_decline_by_an_earlier_target_does_not_skip_the_current_step():
    a = on_deadline(raised().alarm, at(2)).alarm  # Bo is the current step
    o = on_decline(a, ANNA.user, "", at(3))
    assert pages(o) == [] and o.alarm.deadline == at(4)
    assert o.alarm.declined == {ANNA.user}


def test_declining_twice_is_answered_and_changes_nothing():
    a = raised(chain(step("primary", ANNA, BO))).alarm
    once = on_decline(a, ANNA.user, "", at(1)).alarm
    assert_refused(once, on_decline(once, ANNA.user, "", at(1.5)), "alarm.declined_already")


def test_decliner_is_not_paged_again_in_a_later_step():
    a = raised().alarm
    a = on_decline(a, ANNA.user, "", at(0.5)).alarm  # Bo paged
    a = on_deadline(a, at(2.5)).alarm  # Cilla paged
    o = on_deadline(a, at(4.5))
    assert pages(o) == [DAN.user, EVA.user]


def test_decline_after_exhaustion_is_recorded_without_paging_anyone():
    a = exhausted_alarm()
    o = on_decline(a, DAN.user, "", at(9))
    assert pages(o) == [] and police(o) == [] and replies(o) == ["alarm.decline_ok"]
    assert o.alarm.status == "exhausted" and DAN.user in o.alarm.declined


def test_decline_of_a_taken_alarm_is_refused():
    a = on_deadline(raised().alarm, at(2)).alarm
    taken = on_accept(a, BO.user, at(3), is_supervisor=False).alarm
    assert_refused(taken, on_decline(taken, BO.user, "", at(4)), "alarm.decline_own")
    o = on_decline(taken, ANNA.user, "", at(4))
    assert_refused(taken, o, "alarm.already_taken")
    assert render(o.effects[0], "sv") == "L42 är redan accepterat av Bo B (14:05)."


def test_last_decliners_exhaust_the_chain_and_police_get_the_fallback():
    a = raised(chain(step("primary", ANNA))).alarm
    o = on_decline(a, ANNA.user, "", at(1))
    assert pages(o) == []
    assert police(o) == ["⚠️ Ingen har accepterat L42. Ring Socialjouren direkt: 08-600 00 00"]
    assert dms(o, "alarm.fallback") == [CHEF]
    assert cleared(o) and o.alarm.status == "exhausted"


# ----------------------------------------------------------------------------------------------------------- accept


def test_accept_by_the_paged_responder_tells_police_others_and_cancels_escalation():
    a = on_deadline(raised().alarm, at(2)).alarm  # Anna and Bo paged
    o = on_accept(a, ANNA.user, at(2.5), is_supervisor=False)
    assert pages(o) == []
    assert police(o) == ["✅ L42 accepterat av Anna A (Socialjouren) 14:04 — tel 08-600 00 00"]
    assert dms(o, "alarm.taken") == [BO.user]
    assert replies(o) == ["alarm.accept_ok"]
    assert cleared(o) and deadlines(o) == []
    b = o.alarm
    assert (b.status, b.accepted_by, b.accepted_at, b.deadline) == ("accepted", ANNA.user, at(2.5), None)
    assert on_deadline(b, at(4)).effects == ()


def test_other_responder_is_told_who_took_it():
    a = on_deadline(raised().alarm, at(2)).alarm
    o = on_accept(a, ANNA.user, at(2.5), is_supervisor=False)
    taken = next(e for e in o.effects if isinstance(e, Notify) and e.key == "alarm.taken")
    assert render(taken, "sv") == "L42 (Farsta) är accepterat av Anna A (Socialjouren) 14:04. Du behöver inte svara."


def test_accept_by_a_supervisor_outside_the_chain_uses_their_given_name():
    a = raised().alarm
    o = on_accept(a, CHEF, at(1), is_supervisor=True, name="Greta G")
    assert police(o) == ["✅ L42 accepterat av Greta G (Socialjouren) 14:03 — tel 08-600 00 00"]
    assert dms(o, "alarm.taken") == [ANNA.user]
    assert o.alarm.accepted_by == CHEF and o.alarm.accepted_name == "Greta G"


def test_accept_by_a_stranger_is_refused_and_reveals_nothing():
    a = raised().alarm
    assert_refused(a, on_accept(a, STRANGER, at(1), is_supervisor=False), "alarm.not_paged")
    taken = on_accept(a, ANNA.user, at(1), is_supervisor=False).alarm
    # Not "already taken by Anna A": a stranger must not learn who has the alarm.
    assert_refused(taken, on_accept(taken, STRANGER, at(2), is_supervisor=False), "alarm.not_paged")


def test_two_acceptances_first_wins_second_is_told_who_won():
    a = raised(chain(step("primary", ANNA, BO))).alarm
    first = on_accept(a, BO.user, at(1), is_supervisor=False)
    second = on_accept(first.alarm, ANNA.user, at(1), is_supervisor=False)
    assert first.alarm.accepted_by == BO.user
    assert_refused(first.alarm, second, "alarm.already_taken")
    assert render(second.effects[0], "en") == "L42 has already been accepted by Bo B (14:03)."


def test_accepting_twice_is_answered_and_changes_nothing():
    a = on_accept(raised().alarm, ANNA.user, at(1), is_supervisor=False).alarm
    assert_refused(a, on_accept(a, ANNA.user, at(1.5), is_supervisor=False), "alarm.already_yours")


def test_accept_after_exhaustion_still_counts_and_tells_the_supervisors():
    a = exhausted_alarm()
    o = on_accept(a, BO.user, at(9), is_supervisor=False)
    assert o.alarm.status == "accepted" and o.alarm.accepted_by == BO.user
    assert police(o) == ["✅ L42 accepterat av Bo B (Socialjouren) 14:11 — tel 08-600 00 00"]
    assert sorted(dms(o, "alarm.taken")) == sorted([ANNA.user, CILLA.user, DAN.user, EVA.user, CHEF])
    assert not cleared(o)  # there was no deadline left to clear


def test_a_responder_who_declined_may_still_take_it():
    a = raised().alarm
    a = on_decline(a, ANNA.user, "", at(0.5)).alarm
    o = on_accept(a, ANNA.user, at(1), is_supervisor=False)
    assert o.alarm.accepted_by == ANNA.user
    assert dms(o, "alarm.taken") == [BO.user]


def test_accept_of_a_closed_alarm_is_refused():
    a = on_close(raised().alarm, CHEF, "", at(1), is_supervisor=True).alarm
    assert_refused(a, on_accept(a, ANNA.user, at(2), is_supervisor=False), "alarm.closed_already")


# ------------------------------------------------------------------------------------------------------------ close


def test_close_by_the_acceptor_tells_the_police_and_keeps_the_note():
    a = on_accept(raised().alarm, ANNA.user, at(1), is_supervisor=False).alarm
    o = on_close(a, ANNA.user, "Barnen hos mormor", at(58), is_supervisor=False)
    assert police(o) == ["☑️ L42 avslutat av Anna A 15:00."]
    assert "mormor" not in repr(o.effects)
    assert replies(o) == ["alarm.close_ok"]
    assert pages(o) == [] and not cleared(o)
    b = o.alarm
    assert (b.status, b.closed_by, b.closed_at, b.close_note) == ("closed", ANNA.user, at(58), "Barnen hos mormor")


def test_supervisor_may_close_an_unaccepted_alarm_and_the_paged_are_released():
    a = on_deadline(raised().alarm, at(2)).alarm
    a = on_decline(a, ANNA.user, "", at(2.5)).alarm  # Anna declined: Bo is the current step, no escalation
    o = on_close(a, CHEF, "falsklarm", at(3), is_supervisor=True, name="Greta G")
    assert police(o) == ["☑️ L42 avslutat av Greta G 14:05."]
    assert dms(o, "alarm.closed_for_you") == [BO.user]  # Anna already said no; Bo is still expected to answer
    assert cleared(o) and pages(o) == []
    assert o.alarm.status == "closed" and o.alarm.deadline is None
    assert on_deadline(o.alarm, at(4)).effects == ()


def test_supervisor_closing_a_taken_alarm_tells_the_acceptor():
    a = on_accept(raised().alarm, ANNA.user, at(1), is_supervisor=False).alarm
    o = on_close(a, CHEF, "", at(30), is_supervisor=True)
    assert dms(o, "alarm.closed_for_you") == [ANNA.user]


def test_close_by_a_stranger_or_another_responder_is_refused():
    a = on_deadline(raised().alarm, at(2)).alarm
    taken = on_accept(a, ANNA.user, at(3), is_supervisor=False).alarm
    assert_refused(taken, on_close(taken, STRANGER, "", at(4), is_supervisor=False), "alarm.close_forbidden")
    assert_refused(taken, on_close(taken, BO.user, "", at(4), is_supervisor=False), "alarm.close_forbidden")
    # Nobody has accepted: a responder cannot close it, only a supervisor.
    assert_refused(a, on_close(a, ANNA.user, "", at(4), is_supervisor=False), "alarm.close_forbidden")


def test_closing_twice_is_refused():
    a = on_close(raised().alarm, CHEF, "", at(1), is_supervisor=True).alarm
    assert_refused(a, on_close(a, CHEF, "", at(2), is_supervisor=True), "alarm.closed_already")


def test_close_after_exhaustion_releases_the_supervisors_too():
    a = exhausted_alarm()
    o = on_close(a, CHEF, "", at(10), is_supervisor=True)
    assert sorted(dms(o, "alarm.closed_for_you")) == sorted([ANNA.user, BO.user, CILLA.user, DAN.user, EVA.user])


# ------------------------------------------------------------------------------------------------ gaps and overlap


def test_gap_at_the_primary_goes_straight_to_the_next_step():
    o = raised(chain(step("primary"), step("secondary", BO, wait_s=300), step("supervisor", CILLA)))
    assert pages(o) == [BO.user]
    assert police(o) == ["🚨 Larm L42 (Farsta) registrerat 14:02. Söker: Bo B (Socialjouren)."]
    assert o.alarm.step == 1 and o.alarm.deadline == at(5)  # the secondary's own wait
    gap = [e for e in o.effects if isinstance(e, Notify) and e.key == "alarm.gap"]
    assert [e.to_user for e in gap] == [CHEF]
    assert render(gap[0], "sv") == (
        "⚠️ L42 (Farsta): jourschemat har en lucka (primärjour). Larmet gick direkt vidare i kedjan."
    )


def test_gap_in_the_middle_is_skipped_without_waiting():
    o = on_deadline(raised(chain(step("primary", ANNA), step("secondary"), step("supervisor", CILLA))).alarm, at(2))
    assert pages(o) == [CILLA.user]
    assert o.alarm.deadline == at(4)


def test_empty_chain_falls_back_at_once():
    o = raised(chain(step("primary"), step("secondary"), step("supervisor")))
    assert pages(o) == [] and deadlines(o) == []
    assert police(o) == [
        "🚨 Larm L42 (Farsta) registrerat 14:02. Ingen i jour hos Socialjouren kan sökas just nu.",
        "⚠️ Ingen i jour kan nås för L42 (Farsta). Ring Socialjouren direkt: 08-600 00 00",
    ]
    assert dms(o, "alarm.fallback_nobody") == [CHEF]
    assert o.alarm.status == "exhausted" and o.alarm.deadline is None


def test_chain_without_steps_falls_back_at_once():
    o = raised(chain())
    assert pages(o) == []
    assert dms(o, "alarm.fallback_nobody") == [CHEF]
    assert o.alarm.status == "exhausted"


def test_a_supervisor_can_take_an_alarm_nobody_could_be_paged_for():
    a = raised(chain()).alarm
    o = on_accept(a, CHEF, at(1), is_supervisor=True, name="Greta G")
    assert o.alarm.status == "accepted"
    assert dms(o, "alarm.taken") == []  # the only supervisor is the one who took it


def test_person_in_two_steps_is_paged_once_and_the_step_is_not_waited_out():
    o = raised(chain(step("primary", ANNA), step("secondary", ANNA), step("supervisor", CILLA)))
    assert pages(o) == [ANNA.user]
    nxt = on_deadline(o.alarm, at(2))
    assert pages(nxt) == [CILLA.user]  # the secondary step had nobody new and was skipped at once
    assert nxt.alarm.paged == (ANNA.user, CILLA.user)


def test_person_listed_twice_in_one_step_gets_one_page():
    assert pages(raised(chain(step("unit", ANNA, BO, ANNA)))) == [ANNA.user, BO.user]


# ------------------------------------------------------------------------------------------------------ persistence


def _lifecycle() -> list[Alarm]:
    a = raised().alarm
    b = on_decline(a, ANNA.user, "på annat larm", at(0.5)).alarm
    c = on_accept(b, BO.user, at(1), is_supervisor=False).alarm
    d = on_close(c, BO.user, "klart", at(40), is_supervisor=False).alarm
    return [a, b, c, d, exhausted_alarm(), raised(chain()).alarm]


@pytest.mark.parametrize("alarm", _lifecycle(), ids=lambda a: f"{a.status}-{a.step}")
def test_to_dict_from_dict_round_trip_through_json(alarm):
    data = json.loads(json.dumps(alarm.to_dict()))
    back = Alarm.from_dict(data)
    assert back == alarm
    assert back.chain.at.tzinfo == STHLM
    # The restored alarm must behave the same, not only look the same.
    assert on_deadline(back, at(100)).effects == on_deadline(alarm, at(100)).effects


def test_from_dict_refuses_an_unknown_format():
    data = raised().alarm.to_dict() | {"v": 99}
    with pytest.raises(ValueError):
        Alarm.from_dict(data)


def test_notify_needs_exactly_one_destination():
    with pytest.raises(ValueError):
        Notify("L1", "alarm.closed")
    with pytest.raises(ValueError):
        Notify("L1", "alarm.closed", to_room="!r", to_user="@u")


# --------------------------------------------------------------------------------------------------- ids and choice


def test_alarm_ids_are_short_and_typed_any_case():
    assert alarm_id(42) == "L42"
    assert parse_alarm_id("l42") == "L42"
    assert parse_alarm_id(" L7 ") == "L7"
    assert parse_alarm_id("42") is None
    assert parse_alarm_id("sjuk") is None


def _two_alarms() -> tuple[Alarm, Alarm]:
    first = raised(number=1).alarm
    second = raised(chain(step("primary", BO), step("secondary", ANNA)), number=2).alarm
    return first, second


def test_pick_the_only_alarm_a_responder_was_paged_for():
    first, second = _two_alarms()
    assert pick_alarm([first, second], ANNA.user, is_supervisor=False) is first
    assert pick_alarm([first, second], BO.user, is_supervisor=False) is second
    assert pick_alarm([first, second], STRANGER, is_supervisor=False) is None


def test_pick_is_ambiguous_with_two_pages():
    first, second = _two_alarms()
    second = on_deadline(second, at(2)).alarm  # Anna now paged for both
    result = pick_alarm([second, first], ANNA.user, is_supervisor=False)
    assert isinstance(result, Ambiguous) and result.ids == ["L1", "L2"]


def test_pick_ignores_declined_taken_and_closed_alarms():
    first, second = _two_alarms()
    second = on_deadline(second, at(2)).alarm
    declined = on_decline(second, ANNA.user, "", at(3)).alarm
    assert pick_alarm([first, declined], ANNA.user, is_supervisor=False) is first
    taken = on_accept(first, ANNA.user, at(3), is_supervisor=False).alarm
    assert pick_alarm([taken, declined], ANNA.user, is_supervisor=False) is None


def test_pick_for_a_supervisor_without_a_page():
    first, second = _two_alarms()
    assert pick_alarm([first], CHEF, is_supervisor=True) is first
    assert isinstance(pick_alarm([first, second], CHEF, is_supervisor=True), Ambiguous)
    assert pick_alarm([], CHEF, is_supervisor=True) is None


# -------------------------------------------------------------------------------------------------------- statistics


def _accepted_after(number: int, seconds: int, area: str = "farsta") -> Alarm:
    c = Chain(area, area.title(), T0.astimezone(STHLM), "socialjouren", "Socialjouren", PHONE, (step("primary", ANNA),))
    a = raised(c, number=number).alarm
    return on_accept(a, ANNA.user, T0 + timedelta(seconds=seconds), is_supervisor=False).alarm


def test_stats_median_and_90th_percentile_on_a_known_set():
    alarms = [_accepted_after(i, s) for i, s in enumerate([30, 60, 90, 120, 150, 180, 210, 240, 270, 600])]
    s = figures(alarms, T0, T0 + timedelta(days=1))
    assert s.count == 10 and s.accepted == 10
    assert s.median_s == 165.0  # between 150 and 180
    assert s.p90_s == 270.0  # nearest rank: the 9th of 10


def test_stats_counts_escalations_fallbacks_and_areas_and_respects_the_period():
    quick = _accepted_after(1, 60, "farsta")
    slow = raised(number=2).alarm
    slow = on_deadline(slow, at(2)).alarm
    slow = on_accept(slow, BO.user, at(3), is_supervisor=False).alarm
    lost = exhausted_alarm()
    outside = _accepted_after(4, 60, "farsta")
    outside = Alarm.from_dict(outside.to_dict() | {"raised_at": (T0 - timedelta(days=2)).isoformat()})
    other_area = _accepted_after(5, 120, "skarholmen")
    s = figures([quick, slow, lost, outside, other_area], T0, T0 + timedelta(hours=1))
    assert s.count == 4
    assert s.accepted == 3
    assert s.escalated == 2 and s.escalations == 1 + 4
    assert s.fallbacks == 1
    assert s.median_s == 120.0  # 60, 120, 180
    assert s.per_area == {
        "farsta": AreaFigures("Farsta", 3, 2),
        "skarholmen": AreaFigures("Skarholmen", 1, 1),
    }


def test_stats_with_no_alarms():
    s = figures([], T0, T0 + timedelta(days=1))
    assert s.count == 0 and s.median_s is None and s.p90_s is None and s.per_area == {}


# ----------------------------------------------------------------------------------------------------------- cancel


def test_cancel_tells_the_police_the_unit_and_everyone_still_expected_to_act():
    a = on_deadline(raised().alarm, at(2)).alarm  # Anna and Bo paged
    o = machine.on_cancel(a, COP, "fel adress", at(3), allowed=True)
    assert o.alarm.status == "cancelled" and o.alarm.deadline is None and cleared(o)
    assert police(o) == ["🚫 L42 (Farsta) avbrutet 14:05. Ingen från Socialjouren åker på det här larmet."]
    assert sorted(dms(o, "alarm.cancelled_for_you")) == sorted([ANNA.user, BO.user])
    assert replies(o) == ["alarm.cancel_ok"] and pages(o) == []
    assert "fel adress" not in repr(o.effects) and o.alarm.cancel_reason == "fel adress"
    assert machine.on_deadline(o.alarm, at(10)).effects == ()


def test_cancel_of_a_taken_alarm_tells_the_acceptor_only():
    a = on_accept(raised().alarm, ANNA.user, at(1), is_supervisor=False).alarm
    assert dms(machine.on_cancel(a, CHEF, "", at(2), allowed=True), "alarm.cancelled_for_you") == [ANNA.user]


def test_cancel_refused_when_not_allowed_and_after_the_end():
    a = raised().alarm
    assert_refused(a, machine.on_cancel(a, STRANGER, "", at(1), allowed=False), "alarm.cancel_forbidden")
    gone = machine.on_cancel(a, COP, "", at(1), allowed=True).alarm
    assert_refused(gone, machine.on_cancel(gone, COP, "", at(2), allowed=True), "alarm.cancelled_already")
    assert_refused(gone, on_accept(gone, ANNA.user, at(2), is_supervisor=False), "alarm.cancelled_already")
    assert_refused(gone, on_close(gone, CHEF, "", at(2), is_supervisor=True), "alarm.cancelled_already")


def test_a_cancelled_alarm_round_trips_through_json():
    gone = machine.on_cancel(raised().alarm, COP, "dubblett", at(1), allowed=True).alarm
    assert Alarm.from_dict(json.loads(json.dumps(gone.to_dict()))) == gone


def test_the_police_get_the_acceptors_own_phone_number_when_the_roster_has_one():
    o = on_accept(raised().alarm, ANNA.user, at(1), is_supervisor=False, phone="+46701740605")
    assert police(o) == [
        "✅ L42 accepterat av Anna A (Socialjouren) 14:03 — tel 070-174 06 05 (Socialjouren: 08-600 00 00)"
    ]
    notify = next(e for e in o.effects if isinstance(e, Notify) and e.key == "alarm.accepted_direct")
    assert render(notify, "en") == (
        "✅ L42 accepted by Anna A (Socialjouren) 14:03 — phone 070-174 06 05 (Socialjouren: 08-600 00 00)"
    )
