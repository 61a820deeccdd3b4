"""!jour and !schema answered in encrypted rooms; a user without a role is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD

BOT = "@jourbot:localhost"
ROSTERS = Path(__file__).parent / "rosters"
pytestmark = pytest.mark.integration


async def test_oncall_and_roster_in_encrypted_rooms(synapse, people, tmp_path):
    police = await people("polis1")
    anna = await people("anna.a")
    stranger = await people("okand")
    room = await police.create_room([BOT, stranger.user_id])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], rosters=ROSTERS)
    bot = BotRunner(config)
    await bot.start()
    try:
        await police.wait_joined(room, BOT)
        asked = await police.send(room, "!jour farsta")
        chain = await police.wait_for(lambda m: m.sender == BOT and m.reply_to == asked)
        assert chain.encrypted
        assert chain.body.index("Anna A") < chain.body.index("Bertil B") < chain.body.index("Chef C")

        anna_room = await anna.create_room([BOT])
        await anna.wait_joined(anna_room, BOT)
        asked = await anna.send(anna_room, "!schema testjour vecka")
        table = await anna.wait_for(lambda m: m.sender == BOT and m.reply_to == asked)
        assert table.encrypted and "Anna A" in table.body and "Bertil B" in table.body

        await stranger.wait_until(lambda: room in stranger.client.rooms, 10)
        asked = await stranger.send(room, "!jour farsta")
        refusal = await stranger.wait_for(lambda m: m.sender == BOT and m.reply_to == asked)
        assert "inte tillgängligt" in refusal.body and "Anna A" not in refusal.body
    finally:
        await bot.stop()
