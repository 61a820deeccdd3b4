"""The foundation, end to end: a real Synapse, real E2EE clients, the real bot."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.matrix.client import SYNC_TIMELINE_LIMIT
from bot.matrix.port import SessionRevoked
from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled, until

BOT = "@jourbot:localhost"
GAP = SYNC_TIMELINE_LIMIT + 10  # messages sent while the bot is down: more than one sync response carries
pytestmark = pytest.mark.integration


async def police_room_with_bot(police, tmp_path: Path, synapse, **kwargs):
    room = await police.create_room([BOT])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], **kwargs)
    return room, config


async def test_help_in_encrypted_room_is_answered_encrypted(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    await bot.start()
    try:
        await police.wait_joined(room, BOT)
        asked = await police.send(room, "!hjälp")
        answer = await police.wait_for(lambda m: m.sender == BOT and m.reply_to == asked)
        assert answer.encrypted, "the bot must answer inside the encrypted room encrypted"
        assert "!larm" in answer.body or "!hjälp" in answer.body
        assert "Kommandon" in answer.body  # Swedish is the configured language
    finally:
        await bot.stop()


async def test_restart_keeps_device_and_handles_commands_sent_while_down_once(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    app = await bot.start()
    first_device = app.matrix.device_id
    try:
        await police.wait_joined(room, BOT)
        before = await police.send(room, "!help")
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == before)
        await bot.stop()

        during = await police.send(room, "!hjälp")  # sent while the bot is down
        app = await bot.start()
        assert app.matrix.device_id == first_device, "a restart must restore the same device"
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == during, timeout=30)

        await bot.restart()  # once more: nothing may be answered twice
        marker = await police.send(room, "!help")
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == marker, timeout=30)
        answers = [m.reply_to for m in police.from_sender(BOT, room)]
        assert answers.count(before) == 1
        assert answers.count(during) == 1
        assert answers.count(marker) == 1
    finally:
        await bot.stop()


async def test_command_older_than_catchup_window_gets_notice_not_action(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    await bot.start()
    try:
        await police.wait_joined(room, BOT)
        await bot.stop()
        stale = await police.send(room, "!hjälp")
        # The bot comes back "an hour later": its clock is the only thing we move.
        bot.clock = lambda: time.time() + 3600
        await bot.start()
        notice = await police.wait_for(lambda m: m.sender == BOT and m.reply_to == stale, timeout=30)
        assert "äldre än 15 minuter" in notice.body
        assert "Kommandon" not in notice.body
    finally:
        await bot.stop()


async def test_gap_after_outage_is_filled(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    await bot.start()
    try:
        await police.wait_joined(room, BOT)
        await bot.stop()
        lost = await police.send(room, "!hjälp")
        for i in range(GAP):  # more than the bot's timeline limit, so its next sync is "limited"
            await police.send(room, f"vanligt meddelande {i}")
        await bot.start()
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == lost, timeout=30)
    finally:
        await bot.stop()


async def test_gap_filling_stops_where_the_bot_had_been_not_in_the_rooms_history(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    await bot.start()
    try:
        await police.wait_joined(room, BOT)
        for i in range(60):  # history the bot sees while it runs
            await police.send(room, f"tidigare meddelande {i}")
        seen = await police.send(room, "!hjälp")
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == seen, timeout=30)
        await bot.stop()
        lost = await police.send(room, "!hjälp")
        for i in range(GAP):
            await police.send(room, f"vanligt meddelande {i}")
        app = await bot.start()
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == lost, timeout=30)
        fetched = app.matrix.gap_events_fetched  # type: ignore[attr-defined]
        missed = GAP + 1 - SYNC_TIMELINE_LIMIT
        assert missed <= fetched <= missed + 10, f"fetched {fetched} events to fill a gap of {missed}"
    finally:
        await bot.stop()


async def test_what_was_said_before_the_bot_joined_a_room_is_not_for_it(synapse, people, tmp_path):
    police = await people("polis1")
    _, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    app = await bot.start()
    try:
        later_room = await police.create_room([])
        before = await police.send(later_room, "!hjälp")
        for i in range(25):  # enough that the bot's first sync of the room is "limited"
            await police.send(later_room, f"före jourbot {i}")
        await police.client.room_invite(later_room, BOT)
        await police.wait_joined(later_room, BOT)
        marker = await police.send(later_room, "!hjälp")
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == marker, timeout=30)
        # The bot has had the room's history since it joined (the marker came after it). Nothing of it was taken as
        # a command, nothing waits to be reported as unreadable (after undecryptable_wait_s), and all the bot said
        # has arrived.
        assert app.store.events.outcome(before) is None
        assert [w.event_id for w in app.store.events.waiting_undecryptable() if w.room_id == later_room] == []
        await settled(app, police)
        answered = [m.reply_to for m in police.from_sender(BOT, later_room)]
        assert answered == [marker], "only what was sent after the bot joined is answered; nothing before is reported"
        assert before not in answered
    finally:
        await bot.stop()


async def test_undecryptable_message_is_never_silent(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    app = await bot.start()
    try:
        await police.wait_joined(room, BOT)
        await police.send(room, "hej")  # makes the police client learn the bot's devices
        for device in police.client.device_store.active_user_devices(BOT):
            if device.device_id == app.matrix.device_id:
                police.client.blacklist_device(device)  # the bot will never get this message's key
        police.client.olm.outbound_group_sessions.pop(room, None)
        sent = await police.send(room, "!hjälp")
        told = await police.wait_for(lambda m: m.sender == BOT and m.reply_to == sent, timeout=30)
        assert "kunde inte läsa" in told.body
        assert police.user_id in told.content.get("m.mentions", {}).get("user_ids", [])
    finally:
        await bot.stop()


async def test_invitations_only_from_allowed_inviters(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    text = config.read_text().replace('allowed_inviters = [":localhost"]', 'allowed_inviters = ["@polis1:localhost"]')
    config.write_text(text)
    stranger = await people("okand")
    other_room = await stranger.create_room([BOT])
    bot = BotRunner(config)
    app = await bot.start()
    try:
        await police.wait_joined(room, BOT)
        await police.wait_until(lambda: room in app.matrix.client.rooms, 10)
        assert other_room not in app.matrix.client.rooms
        assert other_room in app.matrix.client.invited_rooms
    finally:
        await bot.stop()


async def test_healthz_fails_while_the_homeserver_is_down_and_recovers_and_metrics_parse(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(
        police, tmp_path, synapse, extra="\n[monitoring]\nenabled = true\nport = 0\nsync_age_limit_s = 3\n")
    bot = BotRunner(config)
    app = await bot.start()
    try:
        await police.wait_joined(room, BOT)
        url = f"http://127.0.0.1:{app.monitoring.bound_port}"  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as http:
            async def status() -> int:
                async with http.get(f"{url}/healthz") as resp:
                    return resp.status

            async def healthz(wanted: int, timeout: float) -> None:
                async def answers() -> bool:
                    return await status() == wanted

                await until(answers, timeout, f"/healthz to answer {wanted}", every=0.5)

            await healthz(200, 20)
            synapse.stop()
            try:
                await healthz(503, 30)
                async with http.get(f"{url}/healthz") as resp:
                    assert "no successful sync recently" in (await resp.json())["problems"]
            finally:
                synapse.start()
            await healthz(200, 60)
            async with http.get(f"{url}/metrics") as resp:
                families = {f.name for f in text_string_to_metric_families(await resp.text())}
            assert "jourbot_sync_lag_seconds" in families and "jourbot_outbox_depth" in families
    finally:
        if not synapse.running:
            synapse.start()
        await bot.stop()


async def logout_all(synapse, state_dir: Path) -> None:
    """What a password change or "log out all sessions" does to the bot."""
    token = json.loads((state_dir / "credentials.json").read_text())["access_token"]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{synapse.url}/_matrix/client/v3/logout/all",
                             headers={"Authorization": f"Bearer {token}"}, json={}) as resp:
            assert resp.status == 200


async def test_a_revoked_session_is_replaced_by_a_new_login_when_a_password_is_there(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    app = await bot.start()
    try:
        await police.wait_joined(room, BOT)
        old_device = app.matrix.device_id
        await logout_all(synapse, tmp_path / "bot" / "state")
        # As an officer would: ask; a message sent before their client learns the bot's new device is answered
        # with "could not read", so ask again until the answer comes — within a minute.
        deadline = time.monotonic() + 60
        while True:
            asked = await police.send(room, "!hjälp")
            try:
                answer = await police.wait_for(lambda m, asked=asked: m.sender == BOT and m.reply_to == asked,
                                               timeout=8)
            except AssertionError:
                answer = None
            if answer is not None and "Kommandon" in answer.body:
                break
            assert time.monotonic() < deadline, "the bot did not answer again within a minute"
        assert answer.encrypted and app.matrix.device_id != old_device
    finally:
        await bot.stop()


async def test_a_revoked_session_without_a_password_stops_the_bot_with_a_clear_reason(synapse, people, tmp_path):
    police = await people("polis1")
    room, config = await police_room_with_bot(police, tmp_path, synapse)
    bot = BotRunner(config)
    await bot.start()
    await police.wait_joined(room, BOT)
    await bot.stop()
    config.write_text(config.read_text().replace(f'password = "{PASSWORD}"', 'password = ""'))
    app = await bot.start()  # restores the saved session: no password needed until it is revoked
    await logout_all(synapse, tmp_path / "bot" / "state")
    task = bot._task
    assert task is not None
    with pytest.raises(SessionRevoked):
        await asyncio.wait_for(task, 30)
    assert "no password is configured" in app.stopping
