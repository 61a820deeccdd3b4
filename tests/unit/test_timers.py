"""The timers wake the bot at the store's earliest due instant; the sweep catches a lost wake-up."""

from __future__ import annotations

import asyncio
import time

from bot.timers import Timers


async def test_a_due_instant_in_the_past_fires_at_once_and_rearming_follows_the_store():
    due: list[float | None] = [time.time() + 3600]
    swept = asyncio.Event()

    async def sweep() -> None:
        swept.set()
        due[0] = None  # what was due has been handled

    timers = Timers(lambda: due[0], sweep, time.time, interval=3600)
    timers.start()
    try:
        assert timers.wake_at() is not None and not swept.is_set()
        due[0] = time.time() - 300  # a deadline that passed while the bot was down
        timers.rearm()
        await asyncio.wait_for(swept.wait(), 2)
        await asyncio.sleep(0.05)
        assert timers.wake_at() is None  # nothing left to wake for
    finally:
        timers.shutdown()


async def test_a_lost_wake_up_is_caught_by_the_sweep():
    due: list[float | None] = [time.time() + 0.2]
    fired: list[float] = []

    async def sweep() -> None:
        if due[0] is not None and due[0] <= time.time():
            fired.append(time.time() - due[0])
            due[0] = None

    timers = Timers(lambda: due[0], sweep, time.time, interval=0.3)
    timers.start()
    try:
        timers.remove_wake()  # as if the job had been lost
        await asyncio.sleep(1.0)
        assert len(fired) == 1 and fired[0] < 0.5
    finally:
        timers.shutdown()


async def test_the_bots_clock_decides_not_the_wall_clock():
    offset = 7200.0  # the bot's clock runs two hours ahead (tests move it)
    due: list[float | None] = [time.time() + offset + 0.1]
    swept = asyncio.Event()

    async def sweep() -> None:
        swept.set()

    timers = Timers(lambda: due[0], sweep, lambda: time.time() + offset, interval=3600)
    timers.start()
    try:
        await asyncio.wait_for(swept.wait(), 2)  # 0.1 s on the bot's clock, not two hours
    finally:
        timers.shutdown()
