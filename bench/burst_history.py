"""The history scenario's set-up in bench/alarm_burst.py: thousands of finished alarms in a police room."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from burst_bot import close_alarms
from burst_scene import Scene, quiet
from burst_traffic import sequential_sends
from stamps import BOT, Arrival


async def build_history(scene: Scene, count: int, chunk: int = 60) -> dict[str, Any]:
    """Raise `count` alarms in the history room (the first officer, as fast as the bot takes them) and close each
    (chef.c), pipelined by chunk. The other officers join the room afterwards: their nine clients syncing every event
    would only make the homeserver, the bottleneck here, slower."""
    officers, observer, room = scene.police[:1], scene.observer, scene.history_room
    started = time.perf_counter()
    before = scene.traffic.snapshot()
    segments: list[dict[str, Any]] = []
    segment_start, segment_raised = started, 0
    closing: asyncio.Task[dict[str, Any]] | None = None
    raised = closed = 0
    k = 0
    while k < count:
        size = min(chunk, count - k)
        plan = [(officers[j % len(officers)], room, f"!larm Farsta arkiv-{k + j}.") for j in range(size)]
        mark = observer.mark
        sends = await sequential_sends(plan)
        larms = {s.event_id for s in sends if s.event_id}

        def ack(a: Arrival, larms: set[str] = larms) -> bool:
            return a.sender == BOT and a.room_id == room and "registrerat" in a.body and a.reply_to in larms

        acks, _ = await observer.until(mark, ack, lambda f, n=len(larms): len({a.reply_to for a in f}) >= n,
                                       scene.settings.timeout_s)
        ids = sorted({a.alarm_id for a in acks})
        raised += len(ids)
        if closing is not None:
            closed += (await closing)["closed"]
        closing = asyncio.create_task(close_alarms(scene, ids, settle=False))
        k += size
        now = time.perf_counter()
        if raised - segment_raised >= 500 or k >= count:
            segments.append({"alarms": f"{segment_raised + 1}-{raised}",
                             "alarms_per_second": round((raised - segment_raised) / (now - segment_start), 1)})
            segment_start, segment_raised = now, raised
        elapsed = now - started
        scene.log(f"history: {raised}/{count} raised, {closed} closed, {elapsed:.0f} s ({raised / elapsed:.1f}/s)")
    if closing is not None:
        closed += (await closing)["closed"]
    await quiet(scene)
    took = time.perf_counter() - started
    lead = scene.police[0]
    limited = scene.limited()
    joining = scene.police[1:] + ([scene.relay] if scene.relay is not None else [])
    for other in joining:
        await lead.client.room_invite(room, other.user_id)  # a Person joins on invitation
    for other in joining:
        await lead.wait_joined(room, other.user_id, scene.settings.timeout_s)
    await asyncio.gather(*(p.send(room, "hej") for p in [lead, *joining]))  # each shares its room key
    await quiet(scene)
    scene.joins_limited += scene.limited() - limited
    return {"alarms_raised": raised, "alarms_closed": closed, "seconds": round(took, 1),
            "alarms_per_second": round(raised / took, 1) if took else None, "by_segment": segments,
            "bot_traffic": scene.traffic.since(before)}

