"""The whole App with the in-memory Matrix boundary and a clock the test moves: the component tier.

    bot = await ComponentBot.start(tmp_path)
    larm = await bot.say(POLICE, "!larm Farsta två barn")
    assert [p.body for p in bot.matrix.pages_to(ANNA)] ...
    await bot.advance(120)          # the clock moves; due deadlines fire; the outbox drains

Everything but Matrix is real: config, store (SQLite in tmp_path), registry, handlers, alarm service, outbox, timers.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime
from pathlib import Path

from bot import config as config_module
from bot.app import App
from bot.matrix.port import Incoming, SenderDevice
from tests.harness.botrunner import write_config
from tests.harness.fakematrix import BOT, TRUSTED, FakeMatrix, Sent

ROSTERS = Path(__file__).resolve().parents[1] / "integration" / "rosters"
POLICE = "@polis1:localhost"
ANNA = "@anna.a:localhost"
BERTIL = "@bertil.b:localhost"
CHEF = "@chef.c:localhost"
POLICE_ROOM = "!police:localhost"
UNIT_ROOM = "!testjour:localhost"
STRANGER = "@okand:localhost"
T0 = datetime(2026, 11, 25, 13, 2, tzinfo=UTC).timestamp()  # 14:02 in Stockholm

_ids = itertools.count(1)


class ComponentBot:
    def __init__(self, app: App, matrix: FakeMatrix, clock: list[float] | None, config_path: Path) -> None:
        self.app = app
        self.matrix = matrix
        self._clock = clock  # None: the real clock, and the real timers fire
        self.config_path = config_path
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, tmp_path: Path, wait_s: int = 120, alarms_toml: str = "", bot_toml: str = "",
                    extra: str = "", matrix: FakeMatrix | None = None, clock: list[float] | None = None,
                    timer_interval: float = 3600.0, live: bool = False,
                    more_police: tuple[str, ...] = (), rosters: Path | None = None,
                    trust: str = "tofu", database: str | None = None, standby: bool = False) -> ComponentBot:
        """A running bot; `timer_interval` is the sweep's, long by default so only `advance` moves time.

        `live`: the real clock instead, for tests of the timers themselves (keep their waits short).
        `rosters`: a roster folder of the test's own (a copy it may change) instead of tests/integration/rosters.
        `database`: a PostgreSQL URL instead of SQLite in the state folder (bot/ha/: instances that share it);
        `standby`: the bot is expected to stand by (another acts), not to act."""
        matrix = matrix or FakeMatrix()
        matrix.add_room(POLICE_ROOM, POLICE, *more_police)
        matrix.add_room(UNIT_ROOM, ANNA, BERTIL, CHEF)
        config_path = tmp_path / "bot" / "config.toml"
        if not config_path.exists():
            write_config(
                tmp_path / "bot", "http://127.0.0.1:9", "unused", [POLICE_ROOM], [POLICE, *more_police],
                rosters=rosters or ROSTERS,
                extra=f"\n[alarms]\nstep_wait_override_s = {wait_s}\n{alarms_toml}\n"
                      f"[units.testjour]\nroom = \"{UNIT_ROOM}\"\n{extra}",
                bot_section=bot_toml,
                trust=trust,
                database=database,
            )
        moved = None if live else (clock if clock is not None else [T0])
        now = time.time if moved is None else (lambda: moved[0])
        app = App(config_module.load(config_path), clock=now, matrix=matrix, timer_interval=timer_interval)
        bot = cls(app, matrix, moved, config_path)
        bot._task = asyncio.create_task(app.run())
        await asyncio.wait_for(matrix.ready.wait(), 5)
        if app.role.shared and not standby:  # on PostgreSQL a bot syncs first, then acts (bot/ha/)
            await asyncio.wait_for(app.role.working.wait(), 10)
        return bot

    async def die(self) -> None:
        """Dies as a process under kill -9 would: its database connection gone (so is its acting lock), its tasks
        ended with nothing written."""
        self.app.store.db.conn.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self.app.stop.set()
            await asyncio.wait_for(self._task, 10)
            self._task = None

    async def restart(self) -> ComponentBot:
        """The same config, store and homeserver; a new process, as after a crash or a deploy."""
        await self.stop()
        self.matrix._ready = asyncio.Event()
        return await ComponentBot.start(self.config_path.parents[1], matrix=self.matrix, clock=self._clock)

    # --- time ----------------------------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return time.time() if self._clock is None else self._clock[0]

    async def advance(self, seconds: float) -> None:
        """Move the clock; fire what became due; send what can be sent."""
        assert self._clock is not None, "a live bot's clock is the real one"
        self._clock[0] += seconds
        await self.app.sweep()
        await self.settle()

    async def settle(self) -> None:
        """Until nothing more is due to be sent now (retries waiting for a later instant stay queued)."""
        for _ in range(100):
            await self.app.first_contact.opened()
            await self.app.sender.drain()
            await asyncio.sleep(0)
            channels = self.app.sender.channels  # a row whose channel is off waits for it (bot/channels/channel.py)
            if not any(row.next_attempt_at <= self.now and row.target_kind in channels
                       for row, _ in self.app.store.outbox.heads()):
                return
        raise AssertionError("the outbox never settled")

    def metric(self, name: str) -> float | None:
        """A sample without labels of the bot's /metrics, as the next scrape would read it."""
        return self.app.metrics.registry.get_sample_value(name)

    # --- what people do ------------------------------------------------------------------------------------------
    def event(self, sender: str, room: str, body: str = "", reply_to: str | None = None, kind: str = "message",
              reacts_to: str | None = None, key: str = "", origin_ts: float | None = None,
              device: SenderDevice | None = TRUSTED) -> Incoming:
        """An event as the bot's client hands it on: decrypted, from `device` (None: it came in the clear)."""
        ts = int((origin_ts if origin_ts is not None else self.now) * 1000)
        return Incoming(kind, f"$in{next(_ids)}", room, sender, ts, body=body, reply_to=reply_to,
                        reacts_to=reacts_to, key=key, sender_device=device)

    async def say(self, sender: str, body: str, room: str = POLICE_ROOM, reply_to: str | None = None) -> str:
        event = self.event(sender, room, body, reply_to)
        await self.matrix.feed(event)
        await self.settle()
        return event.event_id

    async def react(self, sender: str, room: str, event_id: str, key: str = "✅") -> str:
        event = self.event(sender, room, kind="reaction", reacts_to=event_id, key=key)
        await self.matrix.feed(event)
        await self.settle()
        return event.event_id

    def dm_room(self, user: str) -> str:
        return next(r for r, room in self.matrix.rooms.items() if room.direct_with == user)

    # --- what the bot said ---------------------------------------------------------------------------------------
    def police_lines(self) -> list[str]:
        return [s.body for s in self.matrix.to_room(POLICE_ROOM)]

    def paged(self) -> dict[str, int]:
        return {u.split(":")[0][1:]: len(self.matrix.pages_to(u)) for u in (ANNA, BERTIL, CHEF)}

    def answers_to(self, event_id: str) -> list[Sent]:
        return [s for s in self.matrix.sent if s.reply_to == event_id]


__all__ = ["ANNA", "BERTIL", "BOT", "CHEF", "POLICE", "POLICE_ROOM", "STRANGER", "T0", "UNIT_ROOM", "ComponentBot"]
