"""The floors of bench/alarm_burst.py: the burst's traffic between plain clients, without the bot."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from burst_scene import Scene
from burst_traffic import Sent, paced_sends, send_figures, sequential_sends
from plumbing import ms, summary
from stamps import Arrival


async def floor(scene: Scene) -> dict[str, Any]:
    n = scene.settings.burst
    senders = scene.police[: scene.settings.senders]
    anna = scene.inbox[scene.anna.user_id]
    plan = [(senders[k % len(senders)], scene.floor_room, f"golv-{k}.") for k in range(n)]
    wanted = {f"golv-{k}." for k in range(n)}
    mark = anna.mark

    def ours(a: Arrival) -> bool:
        return a.room_id == scene.floor_room and a.body in wanted

    sends = await sequential_sends(plan)
    found, complete = await anna.until(mark, ours, lambda f: {a.body for a in f} >= wanted, scene.settings.timeout_s)
    t0 = min(s.issued for s in sends)
    last_send = max(s.returned for s in sends)
    last = max((a.at for a in found), default=t0)
    return {
        "messages": n, "senders": len(senders), "received": len({a.body for a in found}), "complete": complete,
        "first_send_to_last_received_ms": ms(last - t0),
        "first_send_to_last_send_returned_ms": ms(last_send - t0),
        "last_send_returned_to_last_received_ms": ms(last - last_send),
        **send_figures(sends),
    }


async def ordered_floor(scene: Scene, room: str = "") -> dict[str, Any]:
    """The burst's traffic between plain clients, keeping order per room as every Matrix client does.

    The officers send n messages over the burst window into `room` (the floor room unless given: after the history,
    the history room, because the homeserver is slower in a room with a long history, for everyone); meanwhile one
    plain client (the relay) sends n messages one after another into its room with anna.a and n one after another
    into `room`, as the bot sends its pages and its acknowledgements. One message to a room at a time is what keeps a
    room's messages in order (matrix-js-sdk queues a room's messages the same way), so this is what the homeserver
    can carry for the bot: the floor the burst target is measured against.
    """
    assert scene.relay is not None
    n, window = scene.settings.burst, scene.settings.window_s
    senders = scene.police[: scene.settings.senders]
    anna = scene.inbox[scene.anna.user_id]
    relay = scene.relay
    room = room or scene.floor_room
    officers = [(senders[k % len(senders)], room, f"ordnat-{k}.") for k in range(n)]
    wanted = {f"sida-{k}." for k in range(n)}
    mark = anna.mark

    def ours(a: Arrival) -> bool:
        return a.room_id == scene.relay_room and a.body in wanted

    async def serially(room: str, prefix: str) -> list[Sent]:
        return await sequential_sends([(relay, room, f"{prefix}-{k}.") for k in range(n)])

    t0 = time.perf_counter()
    sends, pages, acks = await asyncio.gather(
        paced_sends(officers, window), serially(scene.relay_room, "sida"), serially(room, "kvitto"))
    found, complete = await anna.until(mark, ours, lambda f: {a.body for a in f} >= wanted, scene.settings.timeout_s)
    last_officer = max(s.returned for s in sends)
    last = max((a.at for a in found), default=t0)
    return {
        "messages": 3 * n, "received": len({a.body for a in found}), "complete": complete,
        "first_send_to_last_received_ms": ms(last - t0),
        "last_send_to_last_received_ms": ms(last - last_officer),
        "relay_send_call": summary([s.returned - s.issued for s in pages + acks]),
        **send_figures(sends),
    }

