"""A current Element (matrix-js-sdk + Rust crypto, "exclude insecure devices") talks to a nio bot.

Without cross-signing the bot's device, Element neither shares its room key with the bot nor decrypts the bot's
answer: the alarm vanishes. With ensure_cross_signing after login, the exchange works both ways.
The Element side is tests/js/element_client.mjs (install it with `make js`).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageText,
)

from bot.matrix.crosssign import CrossSigningStatus, ensure_cross_signing
from tests.harness.element import run_element_client

pytestmark = pytest.mark.integration

PASSWORD = "crosssign-element-password"
SECRET = "crosssign-element-pickle-secret"
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


class EchoBot:
    """A nio bot like jourbot's runtime: E2EE, trusts every device (tofu), answers "!ping" with "pong".

    An undecryptable message is answered with a notice, as the spec asks (never silence).
    """

    def __init__(self, url: str, user_id: str, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True, pickle_key=SECRET)
        self.client = AsyncClient(url, user_id, store_path=str(store), config=config)
        self.pings = 0
        self.undecryptable = 0
        self._task: asyncio.Task[None] | None = None

    async def login(self) -> None:
        resp = await self.client.login(PASSWORD, device_name="echo-bot")
        assert isinstance(resp, LoginResponse), resp
        # The device keys must be on the server before the device can be cross-signed.
        if self.client.should_upload_keys:
            await self.client.keys_upload()

    async def cross_sign(self, key_file: Path) -> CrossSigningStatus:
        return await ensure_cross_signing(
            self.client.homeserver,
            self.client.access_token,
            self.client.user_id,
            self.client.device_id,
            PASSWORD,
            key_file,
            SECRET,
            device_ed25519=self.client.olm.account.identity_keys["ed25519"],
        )

    async def start(self, invite: str) -> str:
        resp = await self.client.room_create(name="police", invite=[invite], initial_state=[ENCRYPTION])
        assert isinstance(resp, RoomCreateResponse), resp
        self.client.add_event_callback(self._on_text, RoomMessageText)
        self.client.add_event_callback(self._on_undecryptable, MegolmEvent)
        await self.client.sync(timeout=0, full_state=True)
        self._task = asyncio.create_task(self.client.sync_forever(timeout=500))
        return str(resp.room_id)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    async def _say(self, room_id: str, body: str, msgtype: str = "m.text") -> None:
        await self.client.room_send(
            room_id, "m.room.message", {"msgtype": msgtype, "body": body}, ignore_unverified_devices=True
        )

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != self.client.user_id and event.body.strip() == "!ping":
            self.pings += 1
            await self._say(room.room_id, "pong")

    async def _on_undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        if event.sender != self.client.user_id:
            self.undecryptable += 1
            await self._say(room.room_id, "could not decrypt your message", "m.notice")


async def exchange(synapse, tmp_path: Path, node: str, *, cross_sign: bool, timeout: float) -> tuple[dict, EchoBot]:
    tag = uuid.uuid4().hex[:8]
    bot_id = synapse.register(f"echobot{tag}", PASSWORD)
    alice_id = synapse.register(f"alice{tag}", PASSWORD)
    bot = EchoBot(synapse.url, bot_id, tmp_path / "bot-store")
    await bot.login()
    try:
        if cross_sign:
            status = await bot.cross_sign(tmp_path / "crosssign.json")
            assert status.device_signed
        room_id = await bot.start(alice_id)
        spec = {
            "homeserver": synapse.url,
            "user": alice_id,
            "password": PASSWORD,
            "room": room_id,
            "message": "!ping",
            "expect_sender": bot_id,
            "timeout": timeout,
            "undecryptable_grace": 5,
        }
        return await run_element_client(node, spec, timeout), bot
    finally:
        await bot.stop()


async def test_element_and_cross_signed_nio_bot_understand_each_other(synapse, tmp_path, node):
    result, bot = await exchange(synapse, tmp_path, node, cross_sign=True, timeout=60)
    assert result["ok"], result
    assert result["reply"] == "pong"
    assert result["undecryptable"] == 0
    assert all(d["cross_signed"] for d in result["sender_devices"].values()), result
    assert bot.pings == 1 and bot.undecryptable == 0


async def test_without_cross_signing_element_and_the_bot_cannot_talk(synapse, tmp_path, node):
    # The failure this module exists for; if it ever passes, Element's policy changed and this test tells us.
    result, bot = await exchange(synapse, tmp_path, node, cross_sign=False, timeout=30)
    assert not result["ok"], result
    assert bot.pings == 0 and bot.undecryptable >= 1, "Element must have withheld the room key from the bot"
    assert result["undecryptable"] >= 1 and "UNSIGNED_SENDER_DEVICE" in result["failure_reasons"], result
    assert not any(d["cross_signed"] for d in result["sender_devices"].values()), result
