"""Faults end to end, with a real Synapse: the homeserver killed during an escalation, answers given while the bot
was down, a homeserver that hangs. Every test asserts who was paged and that nobody else was."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest

from tests.harness.waits import past, swept_past, until
from tests.integration.test_alarms import BOT, Scene, bot_says, is_page, scene

pytestmark = pytest.mark.integration


def police_lines(s: Scene) -> list[str]:
    return [m.body for m in s.police.from_sender(BOT, s.room)]


async def test_a_homeserver_killed_for_35_s_mid_escalation_loses_nobody_and_its_return_is_used_at_once(
        people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=8)
    try:
        await s.police.send(s.room, "!larm Farsta")
        await s.anna.wait_for(is_page("L1"), 20)
        synapse.stop()
        # The outage itself, not a wait for anything: 35 s, long enough for Anna's 8 s to run out and for any
        # back-off that grows with the failures to outlive it.
        await asyncio.sleep(35)
        synapse.start()
        back = time.monotonic()
        await s.bertil.wait_for(is_page("L1"), 20)
        # Bertil holds his page within seconds of the homeserver's return (his own client's reconnection included),
        # not after a back-off that outlived the outage.
        assert time.monotonic() - back < 5
        fallback = await s.police.wait_for(bot_says(s, "Ingen har accepterat L1"), 60)
        assert fallback.encrypted
        await s.settled()
        lines = police_lines(s)
        assert not any("kunde inte nås" in line for line in lines), "nobody is unreachable because Synapse was"
        assert [p for p in (s.anna, s.bertil, s.chef) if len(p.pages(BOT)) != 1] == []
    finally:
        if not synapse.running:
            synapse.start()
        await s.bot.stop()


@pytest.mark.parametrize("answer", ["ok", "avbryt"])
async def test_an_answer_sent_while_the_bot_is_down_before_the_deadline_stops_the_alarm(
        people, synapse, tmp_path, answer):
    s = await scene(people, synapse, tmp_path, wait_s=4)
    try:
        larm = await s.police.send(s.room, "!larm Farsta")
        page = await s.anna.wait_for(is_page("L1"), 20)
        due = s.app.store.deadlines.get("L1")
        assert due is not None
        await s.bot.stop()
        if answer == "ok":
            await s.anna.send(page.room_id, "!ok")
        else:
            await s.police.send(s.room, "!avbryt L1 fel adress")
        await past(due)  # the step's deadline passes while the bot is down
        await s.bot.start()
        told = "accepterat av Anna A" if answer == "ok" else "avbrutet"
        await s.police.wait_for(bot_says(s, told, reply_to=larm), 30)
        # Nothing more may come: the bot has swept since (the passed deadline would fire then), no deadline is left
        # to fire later, and all it queued has arrived.
        await swept_past(s.app)
        assert s.app.store.deadlines.get("L1") is None
        await s.settled()
        assert not any("⏫" in line or "Ingen har accepterat" in line for line in police_lines(s))
        assert s.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await s.bot.stop()


async def test_healthz_fails_while_the_homeserver_hangs_and_recovers_when_it_answers(people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=600,
                    more_config="\n[monitoring]\nenabled = true\nport = 0\nhomeserver_s = 5\n")
    app = s.bot.app
    assert app is not None and app.monitoring is not None
    url = f"http://127.0.0.1:{app.monitoring.bound_port}/healthz"
    process = synapse._proc
    assert process is not None
    try:
        async with aiohttp.ClientSession() as http:
            async def answers(wanted: int) -> bool:
                async with http.get(url) as resp:
                    return resp.status == wanted

            async def healthz(wanted: int, timeout: float) -> float:
                """Seconds until /healthz answers `wanted`."""
                started = time.monotonic()
                await until(lambda: answers(wanted), timeout, f"/healthz to answer {wanted}", every=0.5)
                return time.monotonic() - started

            await healthz(200, 30)
            process.send_signal(signal.SIGSTOP)  # its port open, nothing coming back
            assert await healthz(503, 60) < 60
            process.send_signal(signal.SIGCONT)
            assert await healthz(200, 30) < 30
    finally:
        process.send_signal(signal.SIGCONT)
        await s.bot.stop()
