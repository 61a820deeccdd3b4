"""After the bot was down for long, each police room is told once, with real Synapse and real E2EE clients."""

from __future__ import annotations

import time

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled, synced, until
from tests.integration.test_alarms import BOT, ROSTERS

pytestmark = pytest.mark.integration


async def test_a_bot_that_was_down_tells_each_police_room_once_after_handling_what_came_meanwhile(
        people, synapse, tmp_path):
    police = await people("polis1")
    await people("anna.a")
    rooms = [await police.create_room([BOT], name="Polis 1"), await police.create_room([BOT], name="Polis 2")]
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, rooms, [police.user_id], rosters=ROSTERS,
                          extra="\n[monitoring]\noutage_notice_after_s = 10\n")
    bot = BotRunner(config)
    await bot.start()
    try:
        for room in rooms:
            await police.wait_joined(room, BOT)
        await bot.stop()
        asked = await police.send(rooms[0], "!jour Farsta")  # while the bot is down
        # It comes back 11 s later by its own clock, which alone measures how long it was down (from the instant
        # stored at its stop): down for long, without the test waiting that long.
        bot.clock = lambda: time.time() + 11
        await bot.start()

        def told(room: str) -> list[str]:
            return [m.body for m in police.from_sender(BOT, room) if m.body.startswith("ℹ️")]

        answer = await police.wait_for(lambda m: m.sender == BOT and m.reply_to == asked, timeout=30)
        line = await police.wait_for(lambda m: m.sender == BOT and m.room_id == rooms[0] and "ur funktion" in m.body)
        assert police.received.index(answer) < police.received.index(line), "what came meanwhile is handled first"
        assert line.body.endswith("Det som skickades under tiden är nu hanterat.")
        await police.wait_for(lambda m: m.sender == BOT and m.room_id == rooms[1] and "ur funktion" in m.body)
        app = await bot.restart()  # a quick restart (well under 10 s): no news, and the outage is not told again
        # Its first batch is handled (a line due would be queued then), and all it queued has arrived.
        await until(lambda: app.caught_up, 30, "the restarted bot to handle its first batch")
        await settled(app, police)
        assert len(told(rooms[0])) == 1 and len(told(rooms[1])) == 1
    finally:
        await bot.stop()


async def test_after_the_homeserver_was_unreachable_for_long_the_police_room_is_told_once(people, synapse, tmp_path):
    police = await people("polis1")
    await people("anna.a")
    room = await police.create_room([BOT])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], rosters=ROSTERS,
                          extra="\n[monitoring]\noutage_notice_after_s = 5\n")
    bot = BotRunner(config)
    app = await bot.start()
    try:
        await police.wait_joined(room, BOT)
        synapse.stop()
        # Unreachable for long: the bot's syncs fail, and the last good one is more than the 5 s limit ago.
        health = app.matrix.health
        await until(lambda: health.consecutive_errors > 0 and time.time() - health.last_sync_at > 5.5, 30,
                    "the homeserver to be unreachable for long")
        synapse.start()
        line = await police.wait_for(lambda m: m.sender == BOT and "nådde inte Matrix-servern" in m.body, timeout=60)
        assert line.body.endswith("Det som skickades under tiden är nu hanterat.")
        await synced(app)  # a batch after the one that told it (each could tell it again)
        await settled(app, police)
        assert len([m for m in police.from_sender(BOT, room) if m.body.startswith("ℹ️")]) == 1
    finally:
        if not synapse.running:
            synapse.start()
        await bot.stop()
