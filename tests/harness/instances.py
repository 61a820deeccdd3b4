"""Bot instances as operators run them (issue 21): `jourbot run` processes of their own on one PostgreSQL database,
each a device of the bot's account with a state folder of its own, killed with kill -9 or paused with SIGSTOP as a
lost or frozen machine is. tests/integration/test_instances*.py, test_store_failover.py and tests/soak use them.

    config = instance_config(tmp_path, "first", synapse, room, police.user_id, url, wait_s=600)
    async with two_processes(tmp_path, synapse, room, police, url, wait_s) as (first, second): ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.harness.botrunner import write_config
from tests.harness.postgres import free_port
from tests.harness.synapse import PASSWORD

BOT = "@jourbot:localhost"
ROSTERS = Path(__file__).resolve().parents[1] / "integration" / "rosters"  # Anna, Bertil and Chef round the clock


def instance_config(tmp_path: Path, name: str, synapse, room: str, police: str, url: str, wait_s: int,
                    more: str = "", strict: bool = False, bot: str = "") -> Path:
    """`strict`: each instance cross-signs its device and trusts only cross-signed ones (test_instances_e2ee.py).
    `bot`: lines for the [bot] section."""
    path = write_config(tmp_path / name, synapse.url, PASSWORD, [room], [police], rosters=ROSTERS,
                        extra=f"\n[alarms]\nstep_wait_override_s = {wait_s}\n{more}", database=url,
                        trust="cross-signed" if strict else "tofu", bot_section=bot)
    if not strict:
        path.write_text(path.read_text().replace('trust = "tofu"', 'trust = "tofu"\ncross_signing = false', 1))
    return path


class Process:
    """`jourbot run` in a process of its own, its /healthz and /metrics on a port of its own; started again after it
    ended, as systemd's Restart= would, with the same state folder (the same device) and its log appended to."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.port = port
        self.process: asyncio.subprocess.Process | None = None

    @property
    def log(self) -> Path:
        return self.config.parent / "run.log"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli.main", "run", "-c", str(self.config), stdout=log, stderr=log)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

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

    async def role(self, role: str, timeout: float, every: float = 0.2) -> None:
        """Until /healthz says `role`, and healthy (a standby once it has synced)."""
        deadline = time.monotonic() + timeout
        while (health := await self.health()).get("role") != role or health.get("http") != 200:
            assert self.running, f"jourbot run ended ({self.log})"
            assert time.monotonic() < deadline, f"not {role} within {timeout} s"
            await asyncio.sleep(every)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)

    async def end(self) -> None:
        """Gone whatever its state (paused too), at a test's end."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def two_processes(tmp_path: Path, synapse, room: str, police, url: str, wait_s: int,
                        storage: str = "", strict: bool = False, more: str = "",
                        bot: str = "") -> AsyncIterator[tuple[Process, Process]]:
    """Two `jourbot run` processes, the first acting and the second standing by (and healthy), killed at the end.
    `bot`: lines for their [bot] sections."""
    processes = []
    for name in ("first", "second"):
        port = free_port()
        config = instance_config(tmp_path, name, synapse, room, police.user_id, url, wait_s,
                                 f"{more}[monitoring]\nenabled = true\nport = {port}\n", strict, bot)
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
            await process.end()
