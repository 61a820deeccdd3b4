"""The database's own failover (issue 21, item 4; docs/operations.md, "A replica of the database"): a primary with a
synchronous streaming replica, the bot's URL naming both with `target_session_attrs=read-write`. The primary is
stopped at once (a lost machine) and the replica promoted: the acting instance stops acting, the standby connects
anew to the promoted replica and takes over with a raised fencing epoch, every committed alarm is there, and the
instance that acted before, restarted, finds them too and stands by. And with a real Synapse: a `jourbot run` exits 4
when the primary is lost, and again when started before the promotion; started after it, as systemd would, it pages
the next alarm from the promoted replica."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import pytest

from bot.ha.role import LostActing, Role
from bot.store import Store
from bot.store.alarms import AlarmRow
from bot.store.db import Fenced
from bot.store.secretbox import SecretBox
from bot.watch.metrics import Metrics
from tests.harness.instances import Process, instance_config
from tests.harness.postgres import SUPERUSER, PostgresServer, free_port, postgres_bin
from tests.integration.test_alarms import BOT, is_page

pytestmark = pytest.mark.integration

ALARMS = 20


@pytest.fixture
def replicated() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    """A primary and its synchronous streaming replica, of their own: the primary is stopped for good here."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): run `make test` (it installs it)")
    primary = PostgresServer(bin_dir)
    servers = [primary]
    try:
        primary.start(synchronous=True)
        servers.append(primary.replica())
        yield primary, servers[1]
    finally:
        for server in servers:
            server.stop()


def both(primary: PostgresServer, replica: PostgresServer) -> str:
    """A new database, by a URL naming both servers, as the bot's configuration would."""
    name = primary.create_database().rsplit("/", 1)[1]
    return (f"postgresql://{SUPERUSER}@127.0.0.1:{primary.port},127.0.0.1:{replica.port}/{name}"
            "?target_session_attrs=read-write")


def alarm(number: int) -> AlarmRow:
    return AlarmRow(f"L{number}", number, "open", "farsta", "jour", "@polis1:x", time.time(), "!room",
                    {"step": 0})


async def test_the_primary_lost_and_its_replica_promoted_the_bot_goes_on_there_and_lost_no_committed_alarm(
        tmp_path, replicated):
    primary, replica = replicated
    url = both(primary, replica)
    first_store = Store(tmp_path / "FIRST" / "jourbot.db", SecretBox("k"), clock=time.time, database=url)
    second_store = Store(tmp_path / "SECOND" / "jourbot.db", SecretBox("k"), clock=time.time, database=url)
    stores = [first_store, second_store]
    try:
        first, second = Role(first_store.acting, 5, Metrics()), Role(second_store.acting, 5, Metrics())
        first.instance, second.instance = "FIRST", "SECOND"
        assert first.try_once() and not second.try_once()
        epoch = first_store.acting.epoch
        for number in range(1, ALARMS + 1):
            with first_store.transaction():
                first_store.alarms.insert(alarm(number), f"fritext {number}")
        assert first_store.db.where.endswith(f":{primary.port}")

        primary.crash()
        stop = asyncio.Event()
        with pytest.raises(LostActing, match="heartbeat could not be stored"):
            await asyncio.wait_for(first.beat_while_acting(stop), 10)  # the runtime then exits 4
        standing_by = asyncio.create_task(second.until_acting(stop))
        await asyncio.sleep(1.5)  # the standby tries, and connects anew, while no server takes writes
        assert not standing_by.done()
        promoted = time.monotonic()
        replica.promote()
        assert await asyncio.wait_for(standing_by, 15)
        took = time.monotonic() - promoted
        print(f"\nthe standby acts {took:.1f} s after the replica's promotion")

        assert second_store.db.where.endswith(f":{replica.port}")
        assert epoch is not None and second_store.acting.epoch == epoch + 1
        assert second.took_from == "FIRST"
        assert [s["step"] for s in second_store.alarms.states()] == [0] * ALARMS
        assert [second_store.alarms.details(f"L{n}") for n in (1, ALARMS)] == ["fritext 1", f"fritext {ALARMS}"]
        with second_store.transaction():
            second_store.alarms.insert(alarm(ALARMS + 1), "efter")
        second_store.acting.beat()

        # The acting instance, had it reconnected rather than exited, would be fenced off.
        first_store.db.reconnect()
        with pytest.raises(Fenced), first_store.transaction():
            first_store.alarms.update("L1", "closed", {"step": 9})
        # Restarted (systemd), it opens on the promoted replica, finds every alarm, and stands by.
        first_store.close()
        stores[0] = restarted = Store(tmp_path / "FIRST" / "jourbot.db", SecretBox("k"), clock=time.time,
                                      database=url)
        assert len(restarted.alarms.states()) == ALARMS + 1
        assert not restarted.acting.take("FIRST")
    finally:
        for store in stores:
            with contextlib.suppress(Exception):  # a store of the lost primary may fail to close
                store.close()


async def test_jourbot_run_exits_when_the_primary_is_lost_and_restarted_on_the_promoted_replica_pages_on(
        people, synapse, tmp_path, replicated):
    primary, replica = replicated
    url = both(primary, replica)
    police, anna = await people("polis1"), await people("anna.a")
    room = await police.create_room([BOT])
    port = free_port()
    bot = Process(instance_config(tmp_path, "bot", synapse, room, police.user_id, url, 600,
                                  f"[monitoring]\nenabled = true\nport = {port}\n"), port)
    try:
        await bot.start()
        await bot.role("acting", 60)
        await police.wait_joined(room, BOT)
        await police.send(room, "!larm Farsta")
        await anna.wait_for(is_page("L1"), 30)
        assert bot.process is not None
        primary.crash()
        assert await asyncio.wait_for(bot.process.wait(), 30) == 4, "it stops acting and exits, for systemd to restart"
        assert "stopped acting" in (tmp_path / "bot" / "run.log").read_text()
        await bot.start()  # restarted before the promotion: no server takes writes yet
        assert await asyncio.wait_for(bot.process.wait(), 60) == 4, "exits 4 again, for systemd to restart"
        assert "cannot connect to the PostgreSQL database" in (tmp_path / "bot" / "run.log").read_text()
        replica.promote()
        await bot.start()  # as systemd's Restart= would
        await bot.role("acting", 60)
        larm = await police.send(room, "!larm Farsta pojke 12 år")
        await anna.wait_for(is_page("L2"), 30)  # L2: the committed L1, and its number, were on the replica
        await police.wait_for(lambda m: m.sender == BOT and "registrerat" in m.body and m.reply_to == larm, 30)
        assert await bot.stop() == 0
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()
