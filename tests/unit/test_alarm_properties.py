"""Random chains and random event orders: what must hold whatever people do and whenever timers fire."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alarm.machine import (
    Alarm,
    AnnounceUnit,
    Answer,
    ClearDeadline,
    Notify,
    Page,
    Repeat,
    SetDeadline,
    on_accept,
    on_close,
    on_deadline,
    on_decline,
    on_page_delivered,
    on_unreachable,
)
from bot.alarm.texts import render
from rosters.chain import ChainStep, OnCall
from tests.harness.alarms import CHEF, POLICE_ROOM, T0, chain, raised

PEOPLE = [OnCall("x", f"@p{i}:localhost", f"Person {i}") for i in range(5)]
USERS = [p.user for p in PEOPLE] + [CHEF, "@stranger:localhost"]

steps = st.lists(
    st.builds(
        ChainStep,
        role=st.sampled_from(["primary", "secondary", "supervisor", "unit"]),
        wait_s=st.integers(0, 300),
        people=st.lists(st.sampled_from(PEOPLE), max_size=4).map(tuple),
    ),
    max_size=5,
)

events = st.lists(
    st.tuples(
        st.sampled_from(["deadline", "accept", "decline", "close", "delivered", "delivered", "unreachable"]),
        st.sampled_from(USERS),
        st.one_of(st.integers(0, 60), st.integers(0, 400)),  # seconds since the previous event
    ),
    max_size=15,
)


def apply(alarm: Alarm, kind: str, user: str, now):
    supervisor = user == CHEF
    if kind == "deadline":
        return on_deadline(alarm, now)
    if kind == "accept":
        return on_accept(alarm, user, now, supervisor)
    if kind == "decline":
        return on_decline(alarm, user, "", now)
    if kind == "delivered":
        if alarm.current and user not in alarm.current:
            user = alarm.current[USERS.index(user) % len(alarm.current)]  # mostly a page that is due to arrive
        return on_page_delivered(alarm, user, alarm.step, now)
    if kind == "unreachable":
        return on_unreachable(alarm, user, "timeout", now)
    return on_close(alarm, user, "", now, supervisor)


def check_outcome(before: Alarm | None, outcome) -> None:
    after = outcome.alarm
    new_pages = [e.user for e in outcome.effects if isinstance(e, Page)]
    repeats = [e for e in outcome.effects if isinstance(e, Repeat)]
    if repeats:
        # A repeat goes once, to the current step's people whose page arrived and who have not answered; it moves
        # no deadline and is no escalation.
        assert before is not None and before.repeat_at is not None and after.repeat_at is None
        gone = before.declined | before.unreachable_users
        assert {e.user for e in repeats} <= {u for u in before.current if u in before.delivered and u not in gone}
        assert len({e.user for e in repeats}) == len(repeats)
        assert (after.step, after.deadline, after.escalations) == (before.step, before.deadline, before.escalations)
        assert not new_pages
    old = before.paged if before else ()
    # Exactly the people added to `paged` get a page, and nobody is ever paged twice.
    assert after.paged == old + tuple(new_pages)
    assert len(set(after.paged)) == len(after.paged)
    everyone = {p.user for s in after.chain.steps for p in s.people}
    assert set(after.paged) <= everyone
    if before is not None:
        assert not set(new_pages) & (before.declined | before.unreachable_users)
        # Nobody's time to answer is cut: a deadline only moves earlier when the step moves on.
        if before.deadline is not None and after.deadline is not None and after.step == before.step:
            assert after.deadline >= before.deadline or not before.delivered
    # A refusal or an ignored timer changes nothing and only answers.
    if not outcome.changed:
        assert after is before
        assert all(isinstance(e, Answer) for e in outcome.effects)
    # A deadline exists exactly while the alarm is open, and the timer is told the next instant due; a repeat, if
    # one is still to come, comes before the deadline.
    assert (after.status == "open") == (after.deadline is not None)
    assert after.repeat_at is None or (after.deadline is not None and after.repeat_at < after.deadline)
    armed = [e.at for e in outcome.effects if isinstance(e, SetDeadline)]
    if armed:
        assert armed == [after.next_due]
    if before is not None and before.next_due != after.next_due and after.next_due is not None:
        assert armed == [after.next_due]
    if before is not None and before.deadline is not None and after.deadline is None:
        assert any(isinstance(e, ClearDeadline) for e in outcome.effects)
    # Every message can be shown in both languages (a missing param would raise here).
    for e in outcome.effects:
        if isinstance(e, Notify | Answer | AnnounceUnit):
            render(e, "sv")
            render(e, "en")


def police_fallbacks(outcome) -> int:
    return sum(
        1
        for e in outcome.effects
        if isinstance(e, Notify) and e.to_room == POLICE_ROOM and e.key.startswith("alarm.fallback")
    )


@settings(max_examples=300, deadline=None)
@given(steps=steps, events=events, repeat_share=st.sampled_from([0.0, 0.5, 0.9]))
def test_lifecycle_invariants(steps, events, repeat_share):
    outcome = raised(chain(*steps), arrive=False, repeat_share=repeat_share)
    check_outcome(None, outcome)
    alarm = outcome.alarm
    now = T0
    fallbacks = police_fallbacks(outcome)
    winner = None
    for kind, user, delta in events:
        now = now + timedelta(seconds=delta)
        # Timers are always delivered (if late) so the chain gets walked, besides the random early/duplicate ones.
        if alarm.next_due is not None and alarm.next_due <= now:
            due = on_deadline(alarm, now, due=alarm.next_due)
            check_outcome(alarm, due)
            alarm = due.alarm
            fallbacks += police_fallbacks(due)
        before = alarm
        outcome = apply(alarm, kind, user, now)
        check_outcome(before, outcome)
        alarm = outcome.alarm
        fallbacks += police_fallbacks(outcome)
        # The first acceptance wins and is never replaced; a closed alarm stays closed.
        if winner is not None:
            assert alarm.accepted_by == winner
        winner = alarm.accepted_by
        if before.status == "closed":
            assert alarm.status == "closed"
        assert Alarm.from_dict(json.loads(json.dumps(alarm.to_dict()))) == alarm
    # The police get the fallback exactly once if the chain ran out, never otherwise.
    assert fallbacks == (1 if alarm.fallback_at is not None else 0)
