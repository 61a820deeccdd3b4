"""`trust = "cross-signed"`: pages reach only devices their owner has cross-signed; supervisors hear of the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.matrix.crosssign import ensure_cross_signing
from tests.harness.botrunner import BotRunner, write_config
from tests.harness.people import Person
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled

BOT = "@jourbot:localhost"
ROSTERS = Path(__file__).parent / "rosters"
pytestmark = pytest.mark.integration


async def cross_sign(person: Person, tmp_path: Path) -> None:
    client = person.client
    if client.should_upload_keys:
        await client.keys_upload()
    key_file = tmp_path / f"{client.user_id}.keys"
    # The people's accounts live for the whole session: an identity an earlier test gave one is replaced on purpose.
    status = await ensure_cross_signing(
        client.homeserver, client.access_token, client.user_id, client.device_id, PASSWORD, key_file, "test secret",
        device_ed25519=client.olm.account.identity_keys["ed25519"], reset=not key_file.exists(),
    )
    assert status.device_signed


async def test_unsigned_responder_gets_no_readable_page_and_supervisor_is_told(synapse, people, tmp_path):
    police = await people("polis1")
    anna, bertil, chef = await people("anna.a"), await people("bertil.b"), await people("chef.c")
    await cross_sign(bertil, tmp_path)
    await cross_sign(chef, tmp_path)  # anna's device stays unsigned by its owner
    await cross_sign(police, tmp_path)
    room = await police.create_room([BOT])
    config = write_config(
        tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], rosters=ROSTERS,
        extra="\n[alarms]\nstep_wait_override_s = 2\n",
    )
    config.write_text(config.read_text().replace('trust = "tofu"', 'trust = "cross-signed"'))
    bot = BotRunner(config)
    app = await bot.start()
    try:
        await police.wait_joined(room, BOT)
        await police.send(room, "!larm Farsta två barn")
        told = await chef.wait_for(lambda m: m.sender == BOT and "Anna A kunde inte nås" in m.body, 30)
        assert told.encrypted and "personens telefon är inte verifierad för krypterade meddelanden" in told.body
        police_told = await police.wait_for(lambda m: m.sender == BOT and "Anna A kunde inte nås" in m.body, 30)
        assert "L1" in police_told.body
        page = await bertil.wait_for(lambda m: m.sender == BOT and "L1" in m.body and m.msgtype == "m.text", 30)
        assert "två barn" in page.body
        await settled(app, police, anna, bertil, chef)  # Anna too holds all the bot sent her, readable or not
        assert not [m for m in anna.received if m.sender == BOT and "två barn" in m.body]
        assert anna.pages(BOT) == []
    finally:
        await bot.stop()
