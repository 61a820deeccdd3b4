"""Two bot instances on one PostgreSQL database and a real Synapse, each a device of its own (bot/ha/; issue 21): the
acting one pages; it dies (in this process: its database connection and its tasks gone at once, nothing written
after; or a `jourbot run` process under kill -9); the other, which synced all along, takes over and pages what was
said meanwhile — the police's and Anna's clients encrypt for its device as for any. Cross-signing is off here, in
`tofu` trust; test_instances_e2ee.py shows a takeover under Element's strictest mode. The takeover times are
printed (pytest -s)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.postgres import PostgresServer, free_port
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled, until
from tests.integration.test_alarms import BOT, ROSTERS, is_page

pytestmark = pytest.mark.integration


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


def instance_config(tmp_path, name: str, synapse, room: str, police: str, url: str, wait_s: int, more: str = "",
                    strict: bool = False, bot: str = ""):
    """`strict`: each instance cross-signs its device and trusts only cross-signed ones (test_instances_e2ee.py).
    `bot`: lines for the [bot] section."""
    path = write_config(tmp_path / name, synapse.url, PASSWORD, [room], [police], rosters=ROSTERS,
                        extra=f"\n[alarms]\nstep_wait_override_s = {wait_s}\n{more}", database=url,
                        trust="cross-signed" if strict else "tofu", bot_section=bot)
    if not strict:
        path.write_text(path.read_text().replace('trust = "tofu"', 'trust = "tofu"\ncross_signing = false', 1))
    return path


async def die(bot: BotRunner) -> None:
    """As under kill -9: the connection, and with it the acting lock, gone; nothing more written or sent."""
    assert bot.app is not None and bot._task is not None
    bot.app.store.db.conn.close()
    bot._task.cancel()
    await asyncio.gather(bot._task, return_exceptions=True)
    bot.app = None
    bot._task = None


async def test_the_standby_takes_over_and_pages_what_was_said_after_the_acting_one_died(people, synapse, tmp_path,
                                                                                          url):
    police, anna = await people("polis1"), await people("anna.a")
    bertil, chef = await people("bertil.b"), await people("chef.c")
    room = await police.create_room([BOT])
    first = BotRunner(instance_config(tmp_path, "first", synapse, room, police.user_id, url, wait_s=600))
    second = BotRunner(instance_config(tmp_path, "second", synapse, room, police.user_id, url, wait_s=600))
    try:
        one = await first.start()
        await until(lambda: one.role.working.is_set(), 30, "the first instance acts")
        await police.wait_joined(room, BOT)
        two = await second.start()
        assert two.role.name == "standing_by"
        await police.send(room, "!larm Farsta")
        await anna.wait_for(is_page("L1"), 30)
        assert one.matrix.device_id != two.matrix.device_id
        await die(first)
        larm = await police.send(room, "!larm Farsta pojke 12 år")
        await until(lambda: two.role.working.is_set(), 30, "the second instance takes over")
        await police.wait_for(lambda m: m.sender == BOT and "registrerat" in m.body and m.reply_to == larm, 30)
        await anna.wait_for(is_page("L2"), 30)
        await chef.wait_for(lambda m: m.sender == BOT and "🔀" in m.body, 30)
        await settled(two, police, anna, bertil, chef)  # all the store says was sent has arrived: nothing more came
        assert [len(anna.pages(BOT)), len(bertil.pages(BOT)), len(chef.pages(BOT))] == [2, 0, 0]
        lines = [m.body for m in police.from_sender(BOT, room)]
        assert sum("registrerat" in line for line in lines) == 2, lines
        assert not any("🔀" in line for line in lines), "the police hear nothing of a takeover"
    finally:
        await second.stop()
        if first.app is not None:
            await first.stop()


class Process:
    """`jourbot run` in a process of its own, its /healthz and /metrics on a port of its own."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.port = port
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = (self.config.parent / "run.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli.main", "run", "-c", str(self.config), stdout=log, stderr=log)

    async def health(self) -> dict[str, object]:
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                return dict(json.loads(await resp.text()), http=resp.status)
        except aiohttp.ClientError:
            return {}

    async def metric(self, name: str) -> float | None:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{self.port}/metrics") as resp:
            for line in (await resp.text()).splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        return None

    async def role(self, role: str, timeout: float) -> None:
        """Until /healthz says `role`, and healthy (a standby once it has synced)."""
        deadline = time.monotonic() + timeout
        while (health := await self.health()).get("role") != role or health.get("http") != 200:
            assert self.process is not None and self.process.returncode is None, "jourbot run ended"
            assert time.monotonic() < deadline, f"not {role} within {timeout} s"
            await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)


@contextlib.asynccontextmanager
async def two_processes(tmp_path: Path, synapse, room: str, police, url: str, wait_s: int,
                        storage: str = "", strict: bool = False,
                        bot: str = "") -> AsyncIterator[tuple[Process, Process]]:
    """Two `jourbot run` processes, the first acting and the second standing by (and healthy), killed at the end.
    `bot`: lines for their [bot] sections."""
    processes = []
    for name in ("first", "second"):
        port = free_port()
        config = instance_config(tmp_path, name, synapse, room, police.user_id, url, wait_s,
                                 f"[monitoring]\nenabled = true\nport = {port}\n", strict, bot)
        config.write_text(config.read_text().replace('database = "', f'{storage}database = "', 1))
        processes.append(Process(config, port))
    first, second = processes
    try:
        await first.start()
        await first.role("acting", 60)
        await police.wait_joined(room, BOT)
        await second.start()
        await second.role("standing_by", 60)  # and healthy: ready to take over
        yield first, second
    finally:
        for process in processes:
            if process.process is not None and process.process.returncode is None:
                process.process.send_signal(signal.SIGCONT)
                process.process.kill()
                await process.process.wait()


async def test_kill_9_of_the_acting_process_after_a_page_and_mid_escalation_pages_on_in_order_once(
        people, synapse, tmp_path, url):
    police, anna = await people("polis1"), await people("anna.a")
    bertil, chef = await people("bertil.b"), await people("chef.c")
    room = await police.create_room([BOT])
    wait_s = 20
    async with two_processes(tmp_path, synapse, room, police, url, wait_s) as (first, second):
        await police.send(room, "!larm Farsta")
        await anna.wait_for(is_page("L1"), 30)
        paged_at = time.monotonic()
        first.kill()  # mid-escalation: Bertil is due `wait_s` after Anna's page, while nobody acts at first
        killed = time.monotonic()
        await second.role("acting", 30)
        took = time.monotonic() - killed
        larm = await police.send(room, "!larm Farsta pojke 12 år")
        await anna.wait_for(is_page("L2"), 30)
        paged_again = time.monotonic() - killed
        await bertil.wait_for(is_page("L1"), wait_s + 30)
        escalated_after = time.monotonic() - paged_at
        print(f"\ntakeover after kill -9: acting after {took:.1f} s, the next page after {paged_again:.1f} s;"
              f" L1 escalated {escalated_after:.1f} s after Anna's page (its wait {wait_s} s)")
        assert paged_again < 15, "paged within 15 s of the kill (issue 21)"
        assert escalated_after >= wait_s - 1, "the step's wait holds across the takeover"
        await police.wait_for(lambda m: m.sender == BOT and "registrerat" in m.body and m.reply_to == larm, 30)
        await chef.wait_for(lambda m: m.sender == BOT and "🔀" in m.body, 30)
        assert await second.metric("jourbot_takeovers_total") == 1
        # A page sent twice would have come by now (sends take milliseconds here).
        await asyncio.sleep(3)
        repeats = [m for m in anna.pages(BOT) if "(upprepning)" in m.body.split("\n")[0]]
        assert len(anna.pages(BOT)) - len(repeats) == 2 and len(repeats) <= 1, "at most one marked repeat"
        # L1's escalation came once; L2's may have come by now (its step ran out too), once.
        firsts = [m.body.split("\n")[0] for m in bertil.pages(BOT)]
        assert sum("L1" in line for line in firsts) == 1 and sum("L2" in line for line in firsts) <= 1, firsts
        assert chef.pages(BOT) == []
        lines = [m.body for m in police.from_sender(BOT, room)]
        assert sum("registrerat" in line for line in lines) == 2, lines
        assert not any("🔀" in line for line in lines), "the police hear nothing of a takeover"
        assert await second.stop() == 0


async def test_a_paused_acting_process_is_cut_off_and_woken_it_sends_nothing_and_exits_4(people, synapse, tmp_path,
                                                                                          url):
    police, anna = await people("polis1"), await people("anna.a")
    room = await police.create_room([BOT])
    async with two_processes(tmp_path, synapse, room, police, url, 600, "acting_silent_after_s = 3\n") as (
            first, second):
        assert first.process is not None
        first.process.send_signal(signal.SIGSTOP)  # a frozen VM: its connection, and lock, stay
        paused = time.monotonic()
        await second.role("acting", 30)
        took = time.monotonic() - paused
        larm = await police.send(room, "!larm Farsta")
        await anna.wait_for(is_page("L1"), 30)
        await police.wait_for(lambda m: m.sender == BOT and "registrerat" in m.body and m.reply_to == larm, 30)
        first.process.send_signal(signal.SIGCONT)
        assert await asyncio.wait_for(first.process.wait(), 30) == 4, "it stops acting and says so"
        print(f"\ntakeover after SIGSTOP (acting_silent_after_s 3): {took:.1f} s")
        assert took < 15
        assert len(anna.pages(BOT)) == 1, "the woken instance sent nothing"
        log = (first.config.parent / "run.log").read_text()
        assert "stopped acting" in log
        assert await second.stop() == 0
