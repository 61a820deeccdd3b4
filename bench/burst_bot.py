"""The bot's life in bench/alarm_burst.py: started, restarted while the officers talk, and alarms closed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from burst_scene import CLOSED, Scene, quiet
from burst_traffic import sequential_sends
from plumbing import ms
from stamps import BOT, Arrival

from tests.harness.botrunner import BotRunner


async def start_bot(scene: Scene, step_wait_s: int) -> float:
    config = scene.configure(step_wait_s)
    if scene.bot is None:
        scene.bot = BotRunner(config)
    started = time.perf_counter()
    app = await scene.bot.start()
    took = time.perf_counter() - started
    scene.traffic.attach(app)
    return took


async def restart_with_traffic(scene: Scene, step_wait_s: int, room: str) -> dict[str, Any]:
    """Stop the bot; while it is down, and while it starts, the officers keep talking in the police room (plain
    messages, not commands), so its first sync after the restart has a gap."""
    assert scene.bot is not None
    await scene.bot.stop()
    n = scene.settings.chatter
    plan = [(scene.police[k % len(scene.police)], room, f"prat {k}, inget kommando") for k in range(n)]
    down = await sequential_sends(plan)
    trickling = True
    during: list[int] = []

    async def trickle() -> None:
        k = 0
        while trickling:
            try:
                await scene.police[k % len(scene.police)].send(room, f"prat under start {k}")
                during.append(k)
            except Exception:
                pass
            k += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(trickle())
    try:
        took = await start_bot(scene, step_wait_s)
    finally:
        trickling = False
        await task
    return {"messages_while_down": sum(1 for s in down if s.event_id), "messages_while_starting": len(during),
            "start_to_first_sync_done_ms": ms(took)}


async def close_alarms(scene: Scene, ids: list[str], settle: bool = True) -> dict[str, Any]:
    """chef.c (a supervisor) closes each alarm with `!klar Ln` in his room with the bot; waits for every answer."""
    chef, inbox = scene.chef, scene.inbox[scene.chef.user_id]
    mark = inbox.mark
    wanted = set(ids)
    gate = asyncio.Semaphore(8)
    started = time.perf_counter()

    async def one(alarm_id: str) -> None:
        async with gate:
            await chef.send(scene.chef_room, f"!klar {alarm_id}")

    results = await asyncio.gather(*(one(a) for a in ids), return_exceptions=True)

    def answered(a: Arrival) -> bool:
        found = CLOSED.search(a.body)
        return a.sender == BOT and a.room_id == scene.chef_room and found is not None and found.group(1) in wanted

    def closed_ids(found: list[Arrival]) -> set[str]:
        return {m.group(1) for a in found if (m := CLOSED.search(a.body))}

    found, _ = await inbox.until(mark, answered, lambda f: closed_ids(f) >= wanted, scene.settings.timeout_s)
    if settle:
        await quiet(scene)
    return {"closed": len(closed_ids(found)), "asked": len(ids),
            "send_errors": sum(isinstance(r, BaseException) for r in results),
            "seconds": round(time.perf_counter() - started, 2)}

