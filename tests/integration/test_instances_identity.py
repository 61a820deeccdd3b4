"""Two instances of the bot, each its own device with its own state folder, one shared database: both devices are
signed by the one identity kept sealed in that database, the identity never changes, and a police officer on the
Element stack in its strictest mode (room keys only for cross-signed devices) is answered by the second instance
while the first is stopped.

The instances run one after the other: which one acts is not this test's concern (bot/store/acting.py), only that
whichever acts has the room keys and is believed.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import aiohttp
import pytest

from bot.matrix.crosssign import load_keys
from bot.matrix.device_trust import cross_signed_devices, master_key
from tests.harness.botrunner import BOT_USER, TEST_PICKLE_KEY, BotRunner, write_config
from tests.harness.element import run_element_client
from tests.harness.synapse import PASSWORD

pytestmark = pytest.mark.integration


async def keys_of_the_bot(person) -> dict:
    """/keys/query for the bot's account, as a person's client asks it."""
    client = person.client
    async with aiohttp.ClientSession() as session, session.post(
        f"{client.homeserver}/_matrix/client/v3/keys/query", json={"device_keys": {BOT_USER: []}},
        headers={"Authorization": f"Bearer {client.access_token}"},
    ) as resp:
        assert resp.status == 200
        return await resp.json()


def device_of(state: Path) -> str:
    return str(json.loads((state / "credentials.json").read_text())["device_id"])


async def test_every_instance_is_a_device_signed_by_the_one_identity_and_answers_a_strict_client(
        synapse, people, postgres, tmp_path, node):
    officer = synapse.register(f"polis{uuid.uuid4().hex[:6]}", PASSWORD)
    owner = await people("rumsagare")
    room = await owner.create_room([BOT_USER, officer])
    shared = postgres.create_database()
    configs = []
    for name in ("a", "b"):
        config = write_config(tmp_path / name, synapse.url, PASSWORD, [room], [officer])
        config.write_text(re.sub(r'(?m)^database = ".*"$', f'database = "{shared}"', config.read_text()))
        configs.append(config)
    # The first instance is an install from before, its identity in its key file; the second has none.
    identity = load_keys(tmp_path / "a" / "state" / "cross-signing.keys", TEST_PICKLE_KEY, BOT_USER)
    (tmp_path / "b" / "state" / "cross-signing.keys").unlink()

    first = BotRunner(configs[0])
    app = await first.start()
    assert app.store.own_identity.master_key() == (BOT_USER, identity.master_public)
    await owner.wait_joined(room, BOT_USER)
    await first.stop()

    second = BotRunner(configs[1])
    await second.start()
    try:
        devices = {device_of(tmp_path / name / "state") for name in ("a", "b")}
        assert len(devices) == 2, "each instance logged in as a device of its own"
        query = await keys_of_the_bot(owner)
        assert master_key(query, BOT_USER) == identity.master_public, "the identity did not change"
        assert devices <= cross_signed_devices(query, BOT_USER)

        result = await run_element_client(node, {
            "homeserver": synapse.url,
            "user": officer,
            "password": PASSWORD,
            "room": room,
            "message": "!larm Farsta instanstest",
            "expect_sender": BOT_USER,
            "timeout": 40,
            "undecryptable_grace": 8,
        }, 40)
        assert result["ok"], result
        assert all(result["sender_devices"][d]["cross_signed"] for d in devices), result["sender_devices"]
        assert "L1" in result["reply"]
        assert second.app is not None
        raised = second.app.alarms.get("L1")
        assert raised is not None and raised.raised_by == officer, "the second instance decrypted the !larm"
    finally:
        await second.stop()
