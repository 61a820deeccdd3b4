"""One send loop for every channel: the SMS gateway and the homeserver are separate lanes, so a hanging gateway takes
no slot a page needs, and an SMS does not wait for the homeserver (bot/channels/sender.py, bot/channels/channel.py).
The real store and sender, with channels that record what they were handed."""

from __future__ import annotations

import asyncio

from bot.channels.channel import HOMESERVER
from bot.channels.outbox import ALARM, PAGE, Outbox, OutboxSettings
from bot.channels.sender import Sender
from bot.core.effects import Effect
from bot.store import NewMessage, OutboxRow, Store
from bot.store.outbox import alarm_purpose, page_purpose
from bot.store.secretbox import SecretBox
from bot.watch.metrics import Metrics
from tests.harness.waits import until

NOW = 1_800_000_000.0


class Recording:
    """A channel that records each target it is handed, and holds every send until `gate` opens (if given)."""

    def __init__(self, lane: str, gate: asyncio.Event | None = None) -> None:
        self.lane = lane
        self.gate = gate
        self.handed: list[str] = []

    async def deliver(self, row: OutboxRow) -> str:
        self.handed.append(row.target)
        if self.gate is not None:
            await self.gate.wait()
        return f"id-{row.target}"


class Unconcerned:
    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]:
        return []

    def failing(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        return []

    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        return []


async def test_a_hanging_sms_gateway_holds_up_no_page_and_sms_go_before_the_first_sync(tmp_path):
    store = Store(tmp_path / "jourbot.db", SecretBox("k"), lambda: NOW)
    try:
        outbox = Outbox(store, lambda: NOW, OutboxSettings(concurrency=2, reserved_for_alarms=1))
        gateway_answers = asyncio.Event()
        sms, matrix = Recording("sms", gateway_answers), Recording(HOMESERVER)
        synced = asyncio.Event()
        sender = Sender(outbox, {"sms": sms, "user": matrix}, Unconcerned(), synced, Metrics())
        with store.transaction():
            for person in ("@a:x", "@b:x", "@c:x"):
                sms_row = {"phone": "+4670", "text": "Jourlarm L1", "why": "unseen"}
                store.outbox.add_once(NewMessage("sms", person, sms_row, alarm_purpose("L1"), ALARM, NOW + 900),
                                      f"sms:page:L1:{person}")
            store.outbox.add(NewMessage("user", "@d:x", {"body": "page"}, page_purpose("L2", 0), PAGE, NOW + 60),
                             "deadline:L2", 0)

        sender.dispatch()
        await until(lambda: sms.handed == ["@a:x", "@b:x"], 5, lambda: f"two SMS handed over: {sms.handed}")
        assert matrix.handed == [], "the homeserver's lane waits for the first sync"

        synced.set()
        sender.dispatch()  # the gateway hangs with both of its slots taken
        await until(lambda: matrix.handed == ["@d:x"], 5, "the page sent")
        assert sms.handed == ["@a:x", "@b:x"], "the third SMS waits for a free slot of its own lane"

        gateway_answers.set()
        await sender.drain()
        assert sms.handed == ["@a:x", "@b:x", "@c:x"]
        assert store.outbox.counts() == {"sent": 4}
    finally:
        store.close()
