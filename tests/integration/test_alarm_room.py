"""After acceptance, end to end with real E2EE clients and a real Synapse: a Friday-night alarm goes raised → accepted
→ alarm room (officer and acceptor read each other there) → påväg → framme → skydd gjord → överlämnad → klar, the
police room gets exactly one line per phase, and nobody else is paged or invited.

The bot's clock starts at Friday 20 November 2026, 23:10 in Stockholm, and runs on from there; the test roster has
Anna A on call for Farsta round the clock, so the hour changes the times shown, not who is paged.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled
from tests.integration.test_alarms import BOT, ROSTERS, bot_says, is_page

pytestmark = pytest.mark.integration

FRIDAY_2310 = datetime(2026, 11, 20, 23, 10, tzinfo=ZoneInfo("Europe/Stockholm")).timestamp()


async def test_friday_night_alarm_room_and_phases_to_klar(people, synapse, tmp_path):
    police = await people("polis1")
    anna, bertil, chef = await people("anna.a"), await people("bertil.b"), await people("chef.c")
    police_room = await police.create_room([BOT])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [police_room], [police.user_id],
                          rosters=ROSTERS, extra="\n[alarms]\nstep_wait_override_s = 60\n")
    started = time.time()
    bot = BotRunner(config, clock=lambda: FRIDAY_2310 + (time.time() - started))
    app = await bot.start()
    try:
        await police.wait_joined(police_room, BOT)
        larm = await police.send(police_room, "!larm Farsta två barn i lägenheten")
        await police.wait_for(bot_says(None, "L1 (Farsta) registrerat 23:10", reply_to=larm))
        page = await anna.wait_for(is_page("L1"))
        await anna.send(page.room_id, "!ok")
        await police.wait_for(bot_says(None, "L1 accepterat av Anna A", reply_to=larm))

        # The alarm room: both are invited, join, and read the facts — once, without the police's free text.
        facts_for_police = await police.wait_for(lambda m: m.sender == BOT and m.body.startswith("🚨 L1 — Farsta"))
        room = facts_for_police.room_id
        assert room != police_room and facts_for_police.encrypted
        assert police.client.rooms[room].name == "L1 Farsta 23:10"
        facts_for_anna = await anna.wait_for(lambda m: m.room_id == room and m.sender == BOT)
        assert facts_for_anna.body == facts_for_police.body and "två barn" not in facts_for_anna.body
        await anna.wait_joined(room, police.user_id)

        said = await police.send(room, "Porten har kod 4512, vi väntar i trapphuset")
        heard = await anna.wait_for(lambda m: m.room_id == room and m.sender == police.user_id)
        assert heard.encrypted and heard.body == "Porten har kod 4512, vi väntar i trapphuset"
        await anna.send(room, "Tack, jag kommer")
        assert (await police.wait_for(lambda m: m.room_id == room and m.sender == anna.user_id)).encrypted

        # The phases, in the room and in Anna's direct room; each gives the police room one line.
        lines_before = len(police.from_sender(BOT, police_room))
        await anna.send(room, "!påväg 15")
        await police.wait_for(bot_says(None, "🚗 L1: Anna A är på väg (23:1"))
        await anna.send(page.room_id, "!framme")
        await police.wait_for(bot_says(None, "📍 L1: Anna A är framme 23:1"))
        await anna.send(room, "!skydd gjord plan")
        await police.wait_for(bot_says(None, "🧒 L1: skyddsbedömning gjord 23:1"))
        await anna.send(room, "!överlämnad Farsta")
        await police.wait_for(bot_says(None, "📋 L1: lämnas över till Testjouren"))
        await anna.send(room, "!klar")
        await police.wait_for(bot_says(None, "☑️ L1 avslutat av Anna A", reply_to=larm))
        farewell = await police.wait_for(lambda m: m.room_id == room and "Jourboten lämnar rummet" in m.body)
        assert farewell.body.startswith("☑️ L1 är avslutat 23:1")
        await police.wait_until(lambda: BOT not in police.client.rooms[room].users)

        await settled(app, police, anna, bertil, chef)
        lines = [m.body for m in police.from_sender(BOT, police_room)][lines_before:]
        assert [line.split(" ")[0] for line in lines] == ["🚗", "📍", "🧒", "📋", "☑️"], lines
        assert not any("4512" in line or "trapphuset" in line or "plan" in line for line in lines)
        assert [p.phase for p in app.store.phases.of("L1")] == ["en_route", "arrived", "assessment",
                                                                    "handed_over"]
        assert not app.store.events.seen(said)  # what is said in the room is never stored
        assert {anna.user_id, police.user_id} == set(police.client.rooms[room].users)
        assert room not in bertil.client.rooms and room not in chef.client.rooms
        assert {p.user_id.split(":")[0][1:]: len(p.pages(BOT)) for p in (anna, bertil, chef)} == {
            "anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()
