from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.timers import Timers


async def test_past_deadline_fires_at_once_and_rearming_replaces():
    fired: list[str] = []
    done = asyncio.Event()

    async def fire(alarm_id: str) -> None:
        fired.append(alarm_id)
        done.set()

    timers = Timers(fire)
    timers.start()
    try:
        now = datetime.now(UTC)
        timers.arm("L1", now + timedelta(hours=1))
        timers.arm("L1", now - timedelta(minutes=5))  # passed while the bot was down: replaces the first, fires now
        timers.arm("L2", now + timedelta(hours=1))
        timers.disarm("L2")
        await asyncio.wait_for(done.wait(), 5)
        await asyncio.sleep(0.1)
        assert fired == ["L1"]
        assert timers.armed() == {}
    finally:
        timers.shutdown()
