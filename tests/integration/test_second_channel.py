"""Seen pages and the SMS channel end to end: real Synapse, real E2EE clients, the real bot, and a stand-in SMS
gateway on 127.0.0.1 in 46elks' request shape (the real one is a paid outside service)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot.channels.sms.channel import outcomes
from tests.harness.botrunner import BotRunner, write_config
from tests.harness.sms import PHONES, rosters_with_phones, sms_section
from tests.harness.smsgateway import GatewayStandIn
from tests.harness.synapse import PASSWORD
from tests.harness.waits import swept_past, until
from tests.integration.test_alarms import BOT, Scene, bot_says, is_page

pytestmark = pytest.mark.integration


async def sms_scene(people, synapse, tmp_path: Path, gateway: GatewayStandIn, unseen_after_s: int) -> Scene:
    police = await people("polis1")
    anna, bertil, chef = await people("anna.a"), await people("bertil.b"), await people("chef.c")
    room = await police.create_room([BOT])
    config_dir = tmp_path / "bot"
    config = write_config(
        config_dir, synapse.url, PASSWORD, [room], [police.user_id],
        rosters=rosters_with_phones(tmp_path / "rosters"),
        extra="\n[alarms]\nstep_wait_override_s = 90\n" + sms_section(config_dir, gateway.url, unseen_after_s),
    )
    bot = BotRunner(config)
    await bot.start()
    await police.wait_joined(room, BOT)
    return Scene(police, anna, bertil, chef, room, bot, config)


@pytest.fixture
async def gateway():
    stand_in = await GatewayStandIn().start()
    yield stand_in
    await stand_in.stop()


async def test_a_page_unseen_past_its_limit_goes_by_sms_to_that_responder_and_nobody_else(
        people, synapse, tmp_path, gateway):
    s = await sms_scene(people, synapse, tmp_path, gateway, unseen_after_s=4)
    try:
        await s.police.send(s.room, "!larm Farsta två barn i lägenheten")
        await s.anna.wait_for(is_page("L1"))  # delivered, and Anna's client sends no receipt: not read
        await until(lambda: len(gateway.delivered) == 1, 30, "the SMS")
        sms = gateway.delivered[0]
        assert (sms.to, sms.sender, sms.auth) == (PHONES[s.anna.user_id], "Jourbot", ("u-jourbot", "p-secret"))
        assert sms.message == "Jourlarm L1 (Farsta). Öppna Element och svara."
        # The bot has swept again since (a second SMS would be queued then), and its queue holds that one alone.
        await swept_past(s.app)
        await until(lambda: [(o.user_id, o.status) for o in outcomes(s.app.store, "L1")] == [
            (s.anna.user_id, "sent")], 10, lambda: f"one SMS, to Anna, sent: {outcomes(s.app.store, 'L1')}")
        await s.settled()
        assert len(gateway.requests) == 1, "nobody else gets an SMS, and Anna only one"
        assert s.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await s.bot.stop()


async def test_a_page_that_is_read_gets_no_sms_and_status_shows_when_it_was_seen(people, synapse, tmp_path, gateway):
    s = await sms_scene(people, synapse, tmp_path, gateway, unseen_after_s=10)
    try:
        await s.police.send(s.room, "!larm Farsta")
        page = await s.anna.wait_for(is_page("L1"))
        # Past the page's unseen limit (10 s from its delivery, which the bot notes when the homeserver answers its
        # send: a second's margin for that).
        unseen_by = time.time() + 11
        await s.anna.read(page.room_id, page.event_id)
        app = s.bot.app
        assert app is not None
        await until(lambda: app.alarms.seen("L1"), 10, "the page seen")
        asked = await s.police.send(s.room, "!status")
        status = await s.police.wait_for(bot_says(s, "L1", reply_to=asked))
        assert re.search(r"söker: Anna A \(sedd \d\d:\d\d\)$", status.body), status.body
        await swept_past(app, unseen_by)  # past the unseen limit: an SMS would be queued by now
        assert outcomes(app.store, "L1") == []
        await s.settled()
        assert gateway.requests == []
        assert s.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await s.bot.stop()


async def test_a_gateway_failure_is_retried_and_the_supervisor_is_told(people, synapse, tmp_path, gateway):
    s = await sms_scene(people, synapse, tmp_path, gateway, unseen_after_s=3)
    gateway.script = ["5xx"]
    try:
        await s.police.send(s.room, "!larm Farsta")
        await s.anna.wait_for(is_page("L1"))
        told = await s.chef.wait_for(lambda m: m.sender == BOT and "SMS om L1" in m.body, timeout=30)
        assert told.body == "⚠️ SMS om L1 till Anna A gick inte iväg (fel hos SMS-tjänsten). Jag försöker igen."
        await until(lambda: [r.answer for r in gateway.requests] == ["5xx", "ok"], 30, "the SMS retried")
        await s.settled()
        assert {r.to for r in gateway.requests} == {PHONES[s.anna.user_id]}
        assert s.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await s.bot.stop()
