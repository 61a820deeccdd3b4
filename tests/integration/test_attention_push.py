"""What must ring, rings — on the phones of real accounts, as Element decides it.

The bot talks to a real Synapse; the people are real E2EE clients. What each of them received is decrypted there and
then handed, with that account's push rules as Synapse serves them and the room as that client sees it, to
matrix-js-sdk's PushProcessor (Element's own evaluator, tests/js/push_actions.mjs). The police room has a second
officer in it, so it is a group room: there only a mention can ring.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.push import actions_for
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled

BOT = "@jourbot:localhost"
ROSTERS = Path(__file__).parent / "rosters"
MENTION = ".m.rule.is_user_mention"
pytestmark = pytest.mark.integration


def from_bot(text: str, reply_to: str | None = None):
    return lambda m: m.sender == BOT and text in m.body and (reply_to is None or m.reply_to == reply_to)


async def test_pages_acceptance_and_fallback_ring_and_an_answer_does_not(people, synapse, tmp_path, node):
    officer, colleague = await people("polis.ringer"), await people("polis.kollega")
    anna, bertil, chef = await people("anna.a"), await people("bertil.b"), await people("chef.c")
    await officer.client.set_displayname("Per Polis")
    room = await officer.create_room([BOT, colleague.user_id])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [officer.user_id], rosters=ROSTERS,
                          extra="\n[alarms]\nstep_wait_override_s = 60\nrepeat_page_at = 0\n")
    bot = BotRunner(config)
    app = await bot.start()
    try:
        await officer.wait_joined(room, BOT)
        await officer.wait_joined(room, colleague.user_id)

        asked = await officer.send(room, "!jour Farsta")
        jour = await officer.wait_for(lambda m: m.sender == BOT and m.reply_to == asked)

        first = await officer.send(room, "!larm Farsta två barn")
        page = await anna.wait_for(from_bot("🚨 Larm L1"))
        await anna.send(page.room_id, "!ok L1")
        accepted = await officer.wait_for(from_bot("L1 accepterat av Anna A", reply_to=first))
        assert accepted.body.startswith("Per Polis: ✅"), "the officer is named as people see them, not by id"

        # Tomby's unit has a roster gap: its supervisor is paged at once; when she declines, the chain is out.
        second = await officer.send(room, "!larm Tomby")
        chef_page = await chef.wait_for(from_bot("🚨 Larm L2"))
        await chef.send(chef_page.room_id, "!nej L2")
        fallback_police = await officer.wait_for(from_bot("Ingen har accepterat L2", reply_to=second))
        fallback_chef = await chef.wait_for(from_bot("Ingen har accepterat L2"))
        assert all(m.encrypted for m in (jour, page, accepted, fallback_police, fallback_chef))

        officer_sees = await actions_for(node, officer, {"jour": jour, "accepted": accepted,
                                                         "fallback": fallback_police})
        assert officer_sees["jour"].joined == 3, "a group room: nothing rings there unless it mentions you"
        assert not officer_sees["jour"].notify, "an answer to !jour stays quiet"
        assert officer_sees["accepted"].rings and officer_sees["accepted"].rule == MENTION
        assert officer_sees["fallback"].rings and officer_sees["fallback"].rule == MENTION
        as_colleague = await colleague.wait_for(lambda m: m.event_id == accepted.event_id)
        colleague_sees = await actions_for(node, colleague, {"accepted": as_colleague})
        assert not colleague_sees["accepted"].rings, "the line rings for the officer who raised it, not the room"

        anna_sees = await actions_for(node, anna, {"page": page})
        assert anna_sees["page"].rings and anna_sees["page"].rule == MENTION
        chef_sees = await actions_for(node, chef, {"fallback": fallback_chef})
        assert chef_sees["fallback"].rings and chef_sees["fallback"].rule == MENTION
        await settled(app, anna, bertil, chef)
        assert (len(anna.pages(BOT)), len(bertil.pages(BOT)), len(chef.pages(BOT))) == (1, 0, 1)
    finally:
        await bot.stop()
