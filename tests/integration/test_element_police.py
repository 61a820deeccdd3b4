"""A police officer on today's Element stack (matrix-js-sdk + Rust crypto, only cross-signed devices) and the real bot.

The same exchange with the bot's cross-signing switched off must fail: that is the hole this feature closes.
"""

from __future__ import annotations

import uuid

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.element import run_element_client
from tests.harness.synapse import PASSWORD

BOT = "@jourbot:localhost"
pytestmark = pytest.mark.integration


async def ask_bot_from_element(synapse, people, tmp_path, node, cross_signing: bool) -> dict:
    officer = synapse.register(f"polis{uuid.uuid4().hex[:6]}", PASSWORD)
    owner = await people("rumsagare")
    room = await owner.create_room([BOT, officer])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [officer])
    if not cross_signing:
        config.write_text(config.read_text().replace("sync_timeout_s = 1", "sync_timeout_s = 1\ncross_signing = false"))
    bot = BotRunner(config)
    await bot.start()
    try:
        await owner.wait_joined(room, BOT)
        spec = {
            "homeserver": synapse.url,
            "user": officer,
            "password": PASSWORD,
            "room": room,
            "message": "!hjälp",
            "expect_sender": BOT,
            "timeout": 40,
            "undecryptable_grace": 8,
        }
        return await run_element_client(node, spec, 40)
    finally:
        await bot.stop()


async def test_element_police_officer_is_answered_by_cross_signed_bot(synapse, people, tmp_path, node):
    result = await ask_bot_from_element(synapse, people, tmp_path, node, cross_signing=True)
    assert result["ok"], result
    assert "Kommandon du kan använda" in result["reply"]
    assert "!larm" in result["reply"]


async def test_without_cross_signing_element_police_officer_gets_no_answer(synapse, people, tmp_path, node):
    result = await ask_bot_from_element(synapse, people, tmp_path, node, cross_signing=False)
    assert not result["ok"], result
