"""Beyond the single responder, in the pure state machine: a unit that goes out two by two, the police's case number
and the officer's phone for the acceptor, and an accepted alarm handed over to someone else (`!lämna`).

As everywhere in the alarm tests, each transition checks who was paged and that nobody else was.
"""

from __future__ import annotations

import json

from bot.alarm import machine
from bot.alarm.machine import Alarm, AnnounceUnit, Answer, Notify, Outcome, Page, on_accept
from bot.alarm.stats import figures
from bot.alarm.texts import handoff_text, page_text, render
from tests.harness.alarms import (
    ANNA,
    BO,
    CHEF,
    CILLA,
    COP,
    DELIVERY_S,
    POLICE_EVENT,
    POLICE_ROOM,
    T0,
    at,
    chain,
    delivered,
    on_deadline,
    on_decline,
    step,
)


def pages(o: Outcome) -> list[str]:
    return [e.user for e in o.effects if isinstance(e, Page) and not e.handoff]


def police(o: Outcome, lang: str = "sv") -> list[str]:
    return [render(e, lang) for e in o.effects if isinstance(e, Notify) and e.to_room == POLICE_ROOM]


def dms(o: Outcome) -> list[tuple[str, str]]:
    return [(e.to_user, e.key) for e in o.effects if isinstance(e, Notify) and e.to_user]


def answers(o: Outcome) -> list[str]:
    return [e.key for e in o.effects if isinstance(e, Answer)]


def two_by_two(c=None, **kwargs) -> Outcome:
    """Socialjouren goes out two by two: primary Anna, secondary Bo, supervisor Cilla, 2 minutes each."""
    o = machine.raise_alarm(42, c or chain(step("primary", ANNA), step("secondary", BO), step("supervisor", CILLA)),
                            POLICE_ROOM, POLICE_EVENT, COP, (CHEF,), T0, delivery_s=DELIVERY_S, needed=2, **kwargs)
    return delivered(o, T0)


# ------------------------------------------------------------------------------------------- two responders


def test_the_first_of_two_acceptances_tells_the_police_1_of_2_and_pages_the_next_step_at_once():
    o = two_by_two()
    assert pages(o) == [ANNA.user]
    first = delivered(on_accept(o.alarm, ANNA.user, at(1), False), at(1))
    assert first.alarm.status == "open" and first.alarm.holders == (ANNA.user,)
    assert first.alarm.accepted_at == at(1) and first.alarm.filled_at is None
    # Anna was the whole of her step: the secondary is paged now, not when her step's two minutes are out.
    assert pages(first) == [BO.user]
    assert police(first) == ["✅ L42: Anna A (Socialjouren) accepterat 14:03 (1 av 2) — tel 08-600 00 00",
                             "⏫ L42: 1 av 2 har accepterat. Söker nu även: Bo B (Socialjouren)."]
    assert answers(first) == ["alarm.accept_ok_partial"]
    assert first.alarm.escalations == 0  # someone did take it: not an escalation
    assert dms(first) == []  # nobody is told it is taken: it is not yet

    second = on_accept(first.alarm, BO.user, at(3), False)
    assert second.alarm.status == "accepted" and second.alarm.holders == (ANNA.user, BO.user)
    assert second.alarm.accepted_at == at(1) and second.alarm.filled_at == at(3)
    assert pages(second) == []
    assert police(second) == ["✅ L42: Bo B (Socialjouren) accepterat 14:05 (2 av 2) — tel 08-600 00 00"]
    assert second.alarm.deadline is None and second.alarm.next_due is None
    assert answers(second) == ["alarm.accept_ok"]
    units = [render(e, "sv") for e in second.effects if isinstance(e, AnnounceUnit)]
    assert units == ["✅ L42 (Farsta) accepterat av Anna A och Bo B 14:05."]
    # Nobody else was paged, so nobody else is told it is taken.
    assert dms(second) == []


def test_a_step_with_two_people_waits_for_the_other_before_paging_on():
    o = two_by_two(chain(step("primary", ANNA, BO), step("supervisor", CILLA)))
    assert pages(o) == [ANNA.user, BO.user]
    first = on_accept(o.alarm, BO.user, at(1), False)
    assert pages(first) == [] and first.alarm.deadline == at(2)  # Anna may still answer within her two minutes
    # Anna says no: nobody of the step is left, so the supervisor is paged at once.
    o2 = on_decline(first.alarm, ANNA.user, "", at(1.5))
    assert pages(o2) == [CILLA.user]
    assert police(o2) == ["⏫ L42: 1 av 2 har accepterat. Söker nu även: Cilla C (Socialjouren)."]


def test_a_deadline_with_one_of_two_pages_on_and_an_exhausted_chain_says_how_many_came():
    o = two_by_two(chain(step("primary", ANNA, BO), step("supervisor", CILLA)))
    first = on_accept(o.alarm, ANNA.user, at(1), False)
    o2 = on_deadline(first.alarm, at(2))
    assert pages(o2) == [CILLA.user]
    assert police(o2) == ["⏫ L42: 1 av 2 har accepterat. Söker nu även: Cilla C (Socialjouren)."]
    o3 = on_deadline(o2.alarm, at(4))
    assert pages(o3) == [] and o3.alarm.status == "exhausted"
    assert police(o3) == ["⚠️ L42: bara 1 av 2 har accepterat (Anna A). Ring Socialjouren för fler: 08-600 00 00"]
    assert (CHEF, "alarm.fallback_partial") in dms(o3)
    # A late acceptance still completes it; the supervisor who got the fallback hears that it did.
    late = on_accept(o3.alarm, BO.user, at(6), False)
    assert late.alarm.status == "accepted" and late.alarm.holders == (ANNA.user, BO.user)
    assert (CHEF, "alarm.taken") in dms(late)
    assert police(late, "en") == ["✅ L42: Bo B (Socialjouren) accepted 14:08 (2 of 2) — phone 08-600 00 00"]


def test_one_holder_of_two_cannot_accept_or_decline_again_and_both_may_close():
    o = two_by_two()
    first = on_accept(o.alarm, ANNA.user, at(1), False)
    again = on_accept(first.alarm, ANNA.user, at(1.5), False)
    assert not again.changed and answers(again) == ["alarm.already_yours"]
    no = on_decline(first.alarm, ANNA.user, "", at(1.5))
    assert not no.changed and answers(no) == ["alarm.decline_own"]
    full = on_accept(first.alarm, BO.user, at(2), False).alarm
    closed = machine.on_close(full, BO.user, "", at(30), is_supervisor=False)
    assert closed.alarm.status == "closed"
    assert dms(closed) == [(ANNA.user, "alarm.closed_for_you")]


def test_the_first_acceptance_is_time_to_accept_and_the_last_is_counted_beside_it():
    o = two_by_two()
    first = on_accept(o.alarm, ANNA.user, at(1), False)
    full = on_accept(first.alarm, BO.user, at(4), False).alarm
    single = delivered(machine.raise_alarm(43, chain(step("primary", ANNA)), POLICE_ROOM, "$e2", COP, (CHEF,), at(10),
                                           delivery_s=DELIVERY_S), at(10))
    one = on_accept(single.alarm, ANNA.user, at(12), False).alarm
    f = figures([full, one], T0, at(60))
    assert (f.median_s, f.several, f.filled, f.filled_median_s) == (90.0, 1, 1, 240.0)


def test_an_alarm_stored_by_the_version_before_has_its_acceptor_as_its_one_holder():
    o = delivered(machine.raise_alarm(7, chain(step("primary", ANNA)), POLICE_ROOM, POLICE_EVENT, COP, (CHEF,), T0,
                                      delivery_s=DELIVERY_S), T0)
    data = on_accept(o.alarm, ANNA.user, at(1), False).alarm.to_dict()
    for key in ("needed", "holders", "acceptances", "filled_at", "known_names", "case_number", "officer_name",
                "officer_phone", "handoff_from", "handoff_to", "handoff_at"):
        del data[key]
    data["v"] = 3
    old = Alarm.from_dict(json.loads(json.dumps(data)))
    assert old.holders == (ANNA.user,) and old.needed == 1 and old.filled_at == at(1) and old.taken
    assert old.acceptances == ((ANNA.user, at(1).isoformat()),)
    closed = machine.on_close(old, ANNA.user, "", at(20), is_supervisor=False)
    assert closed.alarm.status == "closed"


# ------------------------------------------------------------------------ the case number, the officer's phone


def test_the_case_number_and_the_officers_phone_are_in_the_page_and_never_in_the_police_room():
    o = two_by_two(case_number="5000-K123456-26", officer_name="Per Polis", officer_phone="+46701740610")
    page = page_text(o.alarm, "sv", "två barn")
    assert "Händelsenummer: 5000-K123456-26" in page
    assert "Polis: Per Polis, tel 070-174 06 10" in page
    assert "2 går ut tillsammans; 0 av 2 har accepterat larmet." in page
    first = on_accept(o.alarm, ANNA.user, at(1), False)
    second = on_accept(first.alarm, BO.user, at(2), False)
    rest = machine.on_close(second.alarm, ANNA.user, "", at(30), is_supervisor=False)
    for outcome in (o, first, second, rest):
        for line in police(outcome) + police(outcome, "en"):
            assert "5000-K123456-26" not in line and "+46701740610" not in line
    assert Alarm.from_dict(json.loads(json.dumps(second.alarm.to_dict()))) == second.alarm


# ------------------------------------------------------------------------------------------------ hand-over


def accepted_by_anna() -> Alarm:
    o = delivered(machine.raise_alarm(42, chain(step("primary", ANNA), step("secondary", BO)), POLICE_ROOM,
                                      POLICE_EVENT, COP, (CHEF,), T0, delivery_s=DELIVERY_S), T0)
    return on_accept(o.alarm, ANNA.user, at(1), False).alarm


def test_a_holder_asks_someone_to_take_over_who_takes_it_by_accepting():
    a = accepted_by_anna()
    dag = "@dag.d:localhost"
    asked = machine.on_handoff(a, ANNA.user, dag, "Dag D", at(360), is_supervisor=False)
    assert [(e.user, e.handoff) for e in asked.effects if isinstance(e, Page)] == [(dag, True)]
    assert answers(asked) == ["alarm.handoff_asked"] and police(asked) == []
    assert asked.alarm.holders == (ANNA.user,) and asked.alarm.handoff_to == dag  # Anna keeps it until then
    text = handoff_text(asked.alarm, "sv", "två barn")
    assert text.startswith("🔄 Anna A ber dig ta över larm L42 — Farsta, larmat 14:02 (Socialjouren)\ntvå barn")
    assert "!ok L42" in text

    took = on_accept(asked.alarm, dag, at(362), is_supervisor=False)
    assert took.event == "handed_off"
    assert took.alarm.holders == (dag,) and took.alarm.accepted_by == dag and took.alarm.accepted_name == "Dag D"
    assert took.alarm.accepted_at == at(1), "time to acceptance stays the first acceptance's"
    assert took.alarm.handoff_to is None and took.alarm.status == "accepted"
    assert police(took) == ["🔄 L42: Dag D (Socialjouren) har tagit över efter Anna A 20:04 — tel 08-600 00 00"]
    assert dms(took) == [(ANNA.user, "alarm.handoff_done")]
    assert answers(took) == ["alarm.handoff_accept_ok"]
    assert [e for e in took.effects if isinstance(e, Page)] == []
    # The new holder may close it; the one who left may not any more.
    assert machine.on_close(took.alarm, ANNA.user, "", at(400), is_supervisor=False).changed is False
    assert machine.on_close(took.alarm, dag, "", at(400), is_supervisor=False).alarm.status == "closed"


def test_only_a_holder_or_a_supervisor_hands_over_and_only_a_taken_alarm():
    a = accepted_by_anna()
    refused = machine.on_handoff(a, BO.user, "@dag.d:localhost", "Dag D", at(5), is_supervisor=False)
    assert not refused.changed and answers(refused) == ["alarm.handoff_forbidden"]
    by_chef = machine.on_handoff(a, CHEF, BO.user, "Bo B", at(5), is_supervisor=True)
    assert by_chef.alarm.handoff_from == ANNA.user and by_chef.alarm.handoff_to == BO.user
    own = machine.on_handoff(a, ANNA.user, ANNA.user, "Anna A", at(5), is_supervisor=False)
    assert answers(own) == ["alarm.handoff_holds"]
    waiting = delivered(machine.raise_alarm(43, chain(step("primary", ANNA)), POLICE_ROOM, "$e", COP, (CHEF,), T0,
                                            delivery_s=DELIVERY_S), T0).alarm
    assert answers(machine.on_handoff(waiting, CHEF, BO.user, "Bo B", at(1), is_supervisor=True)) == [
        "alarm.handoff_not_taken"]


def test_one_asked_to_take_over_who_cannot_be_reached_leaves_the_alarm_with_its_holder_who_is_told():
    a = accepted_by_anna()
    asked = machine.on_handoff(a, ANNA.user, BO.user, "Bo B", at(300), is_supervisor=False).alarm
    gone = machine.on_unreachable(asked, BO.user, "forbidden", at(301))
    assert gone.alarm.holders == (ANNA.user,) and gone.alarm.handoff_to is None
    assert dms(gone) == [(ANNA.user, "alarm.handoff_unreachable")]
    assert on_accept(gone.alarm, BO.user, at(302), False).changed is False


def test_a_hand_over_of_one_of_two_keeps_the_other():
    o = two_by_two()
    full = on_accept(on_accept(o.alarm, ANNA.user, at(1), False).alarm, BO.user, at(2), False).alarm
    asked = machine.on_handoff(full, BO.user, CILLA.user, "Cilla C", at(300), is_supervisor=False).alarm
    took = on_accept(asked, CILLA.user, at(301), False)
    assert took.alarm.holders == (ANNA.user, CILLA.user) and took.alarm.accepted_by == ANNA.user
    assert dms(took) == [(BO.user, "alarm.handoff_done")]
