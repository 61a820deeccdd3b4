"""The big-room and flood scenarios of bench/alarm_burst.py: one alarm at a time beside a crowd or a stranger."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from burst_bot import close_alarms
from burst_scene import PASSWORD, QUIET_S, Scene, create_room, person, quiet
from burst_traffic import paced_sends
from crowd import fill_room
from plumbing import ms, summary
from stamps import BOT, Inbox

from tests.harness.people import Person


async def big_room_setup(scene: Scene) -> dict[str, Any]:
    """Register the members, each with one device whose keys are uploaded (bench/crowd.py), and join them to the big
    police room; no client runs for them."""
    n = scene.settings.big_members
    joined = await fill_room(scene.synapse, scene.big_room, n, PASSWORD)
    officer = scene.police[0]
    room_size = 0

    def everyone_in() -> bool:
        nonlocal room_size
        room = officer.client.rooms.get(scene.big_room)
        room_size = len(room.users) if room else 0
        return room_size >= n + 2

    await officer.wait_until(everyone_in, scene.settings.timeout_s)
    await quiet(scene)
    return {"members": room_size, "register_keys_join_s": joined["seconds"]}


async def one_alarm(scene: Scene, room: str, marker: str) -> tuple[float, float, str]:
    """One `!larm` by the first officer in `room`: seconds to the decrypted page at anna.a and to the decrypted
    acknowledgement at the officer; the alarm id."""
    officer = scene.police[0]
    anna, mine = scene.inbox[scene.anna.user_id], scene.inbox[officer.user_id]
    marks = (anna.mark, mine.mark)
    t0 = time.perf_counter()
    larm = await officer.send(room, f"!larm Farsta {marker} kort text")
    timeout = scene.settings.timeout_s
    page, ok_page = await anna.until(marks[0], lambda a: a.pages(scene.anna.user_id) and marker in a.body,
                                     bool, timeout)
    ack, ok_ack = await mine.until(marks[1], lambda a: a.sender == BOT and a.reply_to == larm
                                   and "registrerat" in a.body, bool, timeout)
    if not (ok_page and ok_ack):
        raise RuntimeError(f"alarm {marker} in {room}: page {ok_page}, acknowledgement {ok_ack} within {timeout} s")
    return page[0].at - t0, ack[0].at - t0, ack[0].alarm_id


async def flood(scene: Scene, workdir: Path, people: list[Person]) -> dict[str, Any]:
    """A stranger's flood of commands in a room of their own, then one police alarm: how late is its page?"""
    count = scene.settings.flood
    stranger = await person(workdir, scene.synapse, "okand", people)
    await stranger.start()
    room = await create_room(stranger, [BOT], "främlingens rum")
    await stranger.wait_joined(room, BOT)
    baseline = [await one_alarm(scene, scene.police_room, f"före-flod-{k}.") for k in range(3)]
    await close_alarms(scene, [b[2] for b in baseline])
    inbox = Inbox(stranger)
    mark = inbox.mark
    started = time.perf_counter()
    sends = await paced_sends([(stranger, room, "!jour") for _ in range(count)], 4.0)
    flooded = time.perf_counter() - started
    page_s, ack_s, alarm = await one_alarm(scene, scene.police_room, "efter-flod.")
    await close_alarms(scene, [alarm])
    await asyncio.sleep(QUIET_S)
    answers = len(inbox.since(mark, lambda a: a.sender == BOT and a.room_id == room))
    return {
        "commands": count, "sent_in_s": round(flooded, 2), "send_errors": sum(1 for s in sends if s.error),
        "answers_to_the_stranger": answers,
        "page_ms_before": [ms(b[0]) for b in baseline], "page_ms_after_flood": ms(page_s),
        "ack_ms_after_flood": ms(ack_s),
    }


async def big_room(scene: Scene, warmup: int = 2) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {r: {"page": [], "ack": []} for r in ("small", "big")}
    warm: list[dict[str, Any]] = []
    for i in range(warmup + scene.settings.big_alarms):
        for key, room in (("small", scene.small_room), ("big", scene.big_room)):
            await asyncio.sleep(0.1)
            page, ack, alarm_id = await one_alarm(scene, room, f"{key}-{i}.")
            if i < warmup:
                warm.append({"room": key, "page_ms": ms(page), "ack_ms": ms(ack)})
            else:
                samples[key]["page"].append(page)
                samples[key]["ack"].append(ack)
            await close_alarms(scene, [alarm_id], settle=False)
            await quiet(scene, 10)
    figures: dict[str, Any] = {r: {k: summary(v) for k, v in s.items()} for r, s in samples.items()}
    for kind in ("page", "ack"):
        small, big = figures["small"][kind]["median_ms"], figures["big"][kind]["median_ms"]
        figures[f"{kind}_ratio_big_to_small"] = round(big / small, 2) if small else None
    figures["warmup"] = warm
    return figures

