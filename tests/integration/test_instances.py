"""Two bot instances on one PostgreSQL database and a real Synapse, each a device of its own (bot/ha/; issue 21): the
acting one pages; it dies (its database connection and its tasks gone at once, nothing written after); the other,
which synced all along, takes over and pages what was said meanwhile — the police's and Anna's clients encrypt for
its device as for any. Cross-signing is off: each instance signing its own device with the account's keys is built
apart (bot/matrix/crosssign.py), so this shows the takeover in `tofu` trust, not under Element's strictest mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.postgres import PostgresServer
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled, until
from tests.integration.test_alarms import BOT, ROSTERS, is_page

pytestmark = pytest.mark.integration


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


def instance_config(tmp_path, name: str, synapse, room: str, police: str, url: str, wait_s: int):
    path = write_config(tmp_path / name, synapse.url, PASSWORD, [room], [police], rosters=ROSTERS,
                        extra=f"\n[alarms]\nstep_wait_override_s = {wait_s}\n", database=url)
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
