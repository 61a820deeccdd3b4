"""The burst and escalation lateness scenarios of bench/alarm_burst.py."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections import Counter
from typing import Any

from burst_scene import Scene
from burst_traffic import paced_sends, send_figures
from plumbing import ms, summary
from stamps import BOT, Arrival


async def burst(scene: Scene, label: str, room: str) -> tuple[dict[str, Any], list[str]]:
    n, window = scene.settings.burst, scene.settings.window_s
    officers = scene.police[: scene.settings.senders]
    anna, bertil, chef, observer = (scene.inbox[p.user_id] for p in (scene.anna, scene.bertil, scene.chef,
                                                                     scene.police[0]))
    marks = {i: i.mark for i in (anna, bertil, chef, observer)}
    marker = re.compile(rf"\b{label}-(\d+)\.")
    plan = [(officers[k % len(officers)], room, f"!larm Farsta {label}-{k}. kort text") for k in range(n)]
    before = scene.traffic.snapshot()

    def page(a: Arrival) -> bool:
        return a.pages(scene.anna.user_id) and marker.search(a.body) is not None

    sends = await paced_sends(plan, window)
    larms = {s.event_id: s for s in sends if s.event_id}

    def ack(a: Arrival) -> bool:
        return a.sender == BOT and a.room_id == room and "registrerat" in a.body and a.reply_to in larms

    def all_marked(found: list[Arrival]) -> bool:
        return len({m.group(1) for a in found if (m := marker.search(a.body))}) >= len(larms)

    timeout = scene.settings.timeout_s
    started = time.monotonic()
    pages, pages_complete = await anna.until(marks[anna], page, all_marked, timeout)
    acks, acks_complete = await observer.until(
        marks[observer], ack, lambda f: len({a.reply_to for a in f}) >= len(larms),
        max(1.0, timeout - (time.monotonic() - started)),
    )
    traffic = scene.traffic.since(before)
    await asyncio.sleep(1.0)  # a late duplicate or a stray page would show now
    pages = anna.since(marks[anna], page)
    acks = observer.since(marks[observer], ack)

    t0 = min(s.issued for s in sends)
    last_send = max(s.returned for s in sends)
    first_page = {}
    for a in pages:
        k = int(marker.search(a.body).group(1))  # type: ignore[union-attr]
        first_page.setdefault(k, a)
    first_ack = {}
    for a in acks:
        first_ack.setdefault(a.reply_to, a)
    alarm_ids = sorted({a.alarm_id for a in acks} | {a.alarm_id for a in pages}, key=lambda i: int(i[1:]))
    pages_per_alarm = Counter(a.alarm_id for a in pages)
    pages_per_marker = Counter(int(marker.search(a.body).group(1)) for a in pages)  # type: ignore[union-attr]
    last_page = max((a.at for a in first_page.values()), default=t0)
    last_ack = max((a.at for a in first_ack.values()), default=t0)
    others = {
        "bertil.b": len(bertil.since(marks[bertil], lambda a: a.pages(scene.bertil.user_id))),
        "chef.c": len(chef.since(marks[chef], lambda a: a.pages(scene.chef.user_id))),
    }
    figures = {
        "alarms_sent": len(larms),
        **send_figures(sends),
        "first_send_to_last_page_ms": ms(last_page - t0),
        "last_send_to_last_page_ms": ms(last_page - last_send),
        "first_send_to_last_ack_ms": ms(last_ack - t0),
        "last_send_to_last_ack_ms": ms(last_ack - last_send),
        "page_latency": summary([first_page[s.k].at - s.issued for s in sends if s.k in first_page]),
        "ack_latency": summary([first_ack[e].at - s.issued for e, s in larms.items() if e in first_ack]),
        "complete": pages_complete and acks_complete,
        "checks": {
            "alarms_registered": len({a.alarm_id for a in acks}),
            "alarms_paged": len(pages_per_alarm),
            "alarms_paged_exactly_once": sum(1 for c in pages_per_alarm.values() if c == 1),
            "alarms_paged_more_than_once": sum(1 for c in pages_per_alarm.values() if c > 1),
            "messages_paged_more_than_once": sum(1 for c in pages_per_marker.values() if c > 1),
            "messages_never_paged": len(larms) - len(pages_per_marker),
            "acks_more_than_once": len(acks) - len(first_ack),
            "others_paged": others,
        },
        "bot_traffic": traffic,
    }
    checks = figures["checks"]
    checks["ok"] = (checks["alarms_paged_exactly_once"] == len(larms) == n and checks["alarms_registered"] == n
                    and not checks["alarms_paged_more_than_once"] and not checks["messages_paged_more_than_once"]
                    and not any(others.values()))
    return figures, alarm_ids


async def lateness(scene: Scene, label: str, room: str) -> tuple[dict[str, Any], list[str]]:
    n, spread, wait = scene.settings.lateness, scene.settings.spread_s, scene.step_wait_s
    officers = scene.police[: scene.settings.senders]
    anna, bertil = scene.inbox[scene.anna.user_id], scene.inbox[scene.bertil.user_id]
    marks = {i: i.mark for i in (anna, bertil)}
    marker = re.compile(rf"\b{label}-(\d+)\.")
    plan = [(officers[k % len(officers)], room, f"!larm Farsta {label}-{k}. kort text") for k in range(n)]
    before = scene.traffic.snapshot()
    sends = await paced_sends(plan, spread)
    sent = sum(1 for s in sends if s.event_id)

    def page(a: Arrival) -> bool:
        return a.pages(scene.anna.user_id) and marker.search(a.body) is not None

    pages, _ = await anna.until(marks[anna], page, lambda f: len({a.alarm_id for a in f}) >= sent,
                                scene.settings.timeout_s)
    first: dict[str, float] = {}
    issued = {s.k: s.issued for s in sends}
    raised: dict[str, float] = {}  # alarm id → when its !larm was sent
    for a in pages:
        if a.alarm_id not in first:
            first[a.alarm_id] = a.at
            raised[a.alarm_id] = issued[int(marker.search(a.body).group(1))]  # type: ignore[union-attr]
    ids = set(first)

    def escalated(a: Arrival) -> bool:
        return a.pages(scene.bertil.user_id) and a.alarm_id in ids

    esc, complete = await bertil.until(marks[bertil], escalated, lambda f: {a.alarm_id for a in f} >= ids,
                                       wait + spread + scene.settings.timeout_s)
    second: dict[str, float] = {}
    for a in esc:
        second.setdefault(a.alarm_id, a.at)
    late = [second[i] - first[i] - wait for i in ids if i in second]
    late_vs_send = [second[i] - raised[i] - wait for i in ids if i in second]
    at_bot = bot_lateness(scene, ids, wait)
    raise_spread = max(first.values()) - min(first.values()) if first else 0.0
    figures = {
        "alarms_sent": sent,
        "step_wait_s": wait,
        "first_pages_received": len(first),
        "escalation_pages_received": len(second),
        "first_pages_spread_over_ms": ms(raise_spread),
        "lateness": summary(late),
        "bot_lateness": summary(at_bot),
        "escalation_after_send_minus_wait": summary(late_vs_send),
        "first_page_latency": summary([first[i] - raised[i] for i in ids]),
        "complete": complete and len(first) == n,
        "bot_traffic": scene.traffic.since(before),
        **send_figures(sends),
    }
    return figures, sorted(ids, key=lambda i: int(i[1:]))


def bot_lateness(scene: Scene, ids: set[str], wait: int) -> list[float]:
    """Escalation lateness as the bot itself records it: when the homeserver accepted bertil's page, minus the
    deadline, which is when it accepted anna's page plus the step wait. Read from the bot's database, read-only."""
    assert scene.bot is not None and scene.bot.app is not None
    path = scene.bot.app.store.db.path
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT purpose, sent_at FROM outbox WHERE purpose LIKE 'page:%' AND status = 'sent'")
        sent = {str(purpose): float(at) for purpose, at in rows}
    finally:
        conn.close()
    return [sent[f"page:{i}:1"] - sent[f"page:{i}:0"] - wait for i in ids
            if f"page:{i}:0" in sent and f"page:{i}:1" in sent]

