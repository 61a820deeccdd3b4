"""What must ring, rings: who each alarm message is meant to ring for, and how a mention is written.

Matrix's default push rules silence every m.notice before they look at mentions, so a message someone must act on is
m.text with an intentional mention (m.mentions) and their name; everything else stays a quiet notice.
"""

from __future__ import annotations

from bot.alarm.machine import Notify, Outcome, on_accept, on_cancel, on_close, on_unreachable
from bot.core.effects import Mention
from bot.matrix.content import content_for
from bot.names import Names, localpart
from rosters import Roster
from tests.harness.alarms import ANNA, BO, CHEF, COP, POLICE_ROOM, at, on_deadline, raised

OFFICER = Mention(COP, "Per Polis")


def rings(outcome: Outcome) -> dict[str, tuple[str, ...]]:
    """message key → whom it rings for, for every message of `outcome` (a key sent twice keeps its last)."""
    return {f"{'police' if e.to_room == POLICE_ROOM else e.to_user}:{e.key}": e.ring
            for e in outcome.effects if isinstance(e, Notify)}


def test_the_raised_line_answers_the_officer_quietly_and_the_chain_rings_them_after():
    assert rings(raised()) == {"police:alarm.raised": ()}
    escalated = on_deadline(raised().alarm, at(2))
    assert rings(escalated) == {"police:alarm.escalated": (COP,)}


def test_acceptance_rings_the_officer_and_tells_the_others_quietly():
    a = on_deadline(raised().alarm, at(2)).alarm  # Anna and Bo paged
    o = on_accept(a, BO.user, at(3), is_supervisor=False)
    assert rings(o) == {"police:alarm.accepted": (COP,), f"{ANNA.user}:alarm.taken": ()}
    with_phone = on_accept(a, BO.user, at(3), is_supervisor=False, phone="+46701740605")
    assert rings(with_phone)["police:alarm.accepted_direct"] == (COP,)


def test_the_fallback_rings_the_officer_and_every_supervisor():
    a = raised().alarm
    for minute in (2, 4, 6):
        a = on_deadline(a, at(minute)).alarm
    o = on_deadline(a, at(8))
    assert rings(o) == {"police:alarm.fallback": (COP,), f"{CHEF}:alarm.fallback": (CHEF,)}


def test_who_could_not_be_reached_rings_the_officer_and_the_supervisors():
    o = on_unreachable(raised(arrive=False).alarm, ANNA.user, "forbidden", at(0.5))
    assert rings(o) == {"police:alarm.unreachable": (COP,), f"{CHEF}:alarm.unreachable_supervisor": (CHEF,),
                        "police:alarm.escalated": (COP,)}


def test_a_cancellation_rings_the_officer_unless_they_cancelled_it_themselves():
    a = raised().alarm
    by_supervisor = on_cancel(a, CHEF, "", at(1), allowed=True)
    assert rings(by_supervisor) == {"police:alarm.cancelled": (COP,), f"{ANNA.user}:alarm.cancelled_for_you": ()}
    by_officer = on_cancel(a, COP, "fel adress", at(1), allowed=True)
    assert rings(by_officer)["police:alarm.cancelled"] == ()


def test_a_close_is_quiet():
    a = on_accept(raised().alarm, ANNA.user, at(1), is_supervisor=False).alarm
    assert set(rings(on_close(a, ANNA.user, "", at(30), is_supervisor=False)).values()) == {()}


def test_a_mention_is_m_text_with_the_name_in_the_body_and_a_pill():
    content = content_for("⚠️ Ingen har accepterat L1.", reply_to="$larm", mentions=(OFFICER,))
    assert content["msgtype"] == "m.text"
    assert content["m.mentions"] == {"user_ids": [COP]}
    assert content["body"] == "Per Polis: ⚠️ Ingen har accepterat L1."
    assert COP not in content["body"], "never the bare Matrix id"
    assert content["formatted_body"] == (f'<a href="https://matrix.to/#/{COP}">Per Polis</a>: ⚠️ Ingen har'
                                         " accepterat L1.")
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$larm"}}


def test_a_mention_is_never_a_notice_and_without_one_it_is():
    assert content_for("x", notice=True, mentions=(OFFICER,))["msgtype"] == "m.text"
    quiet = content_for("Testjouren: Anna A")
    assert quiet["msgtype"] == "m.notice" and quiet["m.mentions"] == {} and quiet["body"] == "Testjouren: Anna A"


def test_names_and_markup_in_a_mention_are_escaped():
    content = content_for("a < b", mentions=(Mention("@x:localhost", "<b>X</b>"),))
    assert content["formatted_body"] == '<a href="https://matrix.to/#/@x:localhost">&lt;b&gt;X&lt;/b&gt;</a>: a &lt; b'


def test_a_person_is_called_by_the_rosters_name_then_the_display_name_then_the_localpart():
    roster = Roster({}, {}, {ANNA.user: "Anna A"})
    shown = {(COP, POLICE_ROOM): "Per Polis"}
    names = Names(lambda: roster, lambda user, room: shown.get((user, room)))
    assert names.mention(ANNA.user, POLICE_ROOM) == Mention(ANNA.user, "Anna A")
    assert names.name(COP, POLICE_ROOM) == "Per Polis"
    assert names.name(COP, "!elsewhere:localhost") == "polis.per"
    assert localpart("@polis1:example.org") == "polis1"


def test_a_mention_without_a_name_reads_the_localpart_never_the_matrix_id():
    # A supervisor's first hour: a page began "@bertil.b:localhost:", which reads as nobody.
    content = content_for("🚨 L1 Farsta", mentions=(Mention("@bertil.b:localhost", "@bertil.b:localhost"),))
    assert content["body"] == "bertil.b: 🚨 L1 Farsta"
    assert ">bertil.b</a>" in content["formatted_body"]
