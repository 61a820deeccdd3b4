"""The bot's HTTP traffic counted from outside, and the officers' sends paced or in order (bench/alarm_burst.py)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from nio import AsyncClient, RoomMessagesResponse, SyncResponse
from plumbing import ms, summary

from tests.harness.people import Person


class BotTraffic:
    """Counts and times the requests of the running bot's nio client by kind, and how long nio spends on what they
    return; and the limited timelines its syncs get. Wraps the client instance only: the bot's code is untouched, and
    if a future App has no `matrix.client` the figures are just left out."""

    KINDS = (("/sendToDevice/", "to_device"), ("/messages", "messages"), ("/sync", "sync"), ("/send/", "send"),
             ("/keys/query", "keys_query"), ("/keys/claim", "keys_claim"), ("/keys/upload", "keys_upload"))

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.limited = 0
        self.attached = False

    def attach(self, app: Any) -> None:
        client = getattr(getattr(app, "matrix", None), "client", None)
        if not isinstance(client, AsyncClient):
            return
        self.attached = True
        send, receive = client.send, client.receive_response

        async def counted_send(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await send(*args, **kwargs)
            finally:
                path = str((list(args) + [kwargs.get("method", ""), kwargs.get("path", "")])[1])
                kind = next((k for marker, k in self.KINDS if marker in path), "other")
                self.calls[kind] += 1
                label = "sync (HTTP, long-poll wait included)" if kind == "sync" else f"{kind} (HTTP)"
                self.seconds[label] += time.perf_counter() - start

        async def counted_receive(response: Any) -> None:
            start = time.perf_counter()
            await receive(response)
            if isinstance(response, SyncResponse):
                self.limited += sum(bool(i.timeline.limited) for i in response.rooms.join.values())
                self.seconds["sync (nio parses, decrypts)"] += time.perf_counter() - start
            elif isinstance(response, RoomMessagesResponse):
                self.seconds["messages (nio parses, decrypts)"] += time.perf_counter() - start

        client.send = counted_send  # type: ignore[method-assign]
        client.receive_response = counted_receive  # type: ignore[method-assign]

    def snapshot(self) -> tuple[Counter[str], Counter[str], int]:
        return Counter(self.calls), Counter(self.seconds), self.limited

    def since(self, before: tuple[Counter[str], Counter[str], int]) -> dict[str, Any]:
        if not self.attached:
            return {}
        calls, seconds, limited = before
        return {
            "limited_timelines": self.limited - limited,
            "requests": dict(sorted((self.calls - calls).items())),
            "seconds": {k: round(v, 2) for k, v in sorted((self.seconds - seconds).items(), key=lambda kv: -kv[1])},
        }



@dataclass
class Sent:
    k: int
    issued: float
    returned: float
    event_id: str
    error: str = ""


async def paced_sends(plan: list[tuple[Person, str, str]], window_s: float) -> list[Sent]:
    """Send plan[k] at start + k·window/len(plan), each as its own task, so slow sends overlap rather than queue."""
    start = time.perf_counter() + 0.05
    step = window_s / len(plan) if plan else 0.0

    async def one(k: int, who: Person, room: str, body: str) -> Sent:
        delay = start + k * step - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        issued = time.perf_counter()
        try:
            event_id = await who.send(room, body)
        except Exception as err:  # counted and reported; the run goes on
            return Sent(k, issued, time.perf_counter(), "", f"{type(err).__name__}: {err}"[:200])
        return Sent(k, issued, time.perf_counter(), event_id)

    return list(await asyncio.gather(*(one(k, *p) for k, p in enumerate(plan))))


async def sequential_sends(plan: list[tuple[Person, str, str]]) -> list[Sent]:
    """Each sender sends its own messages one after another; the senders run at once."""
    by_sender: dict[str, list[tuple[int, Person, str, str]]] = {}
    for k, (who, room, body) in enumerate(plan):
        by_sender.setdefault(who.user_id, []).append((k, who, room, body))

    async def run(items: list[tuple[int, Person, str, str]]) -> list[Sent]:
        out = []
        for k, who, room, body in items:
            issued = time.perf_counter()
            try:
                event_id = await who.send(room, body)
                out.append(Sent(k, issued, time.perf_counter(), event_id))
            except Exception as err:
                out.append(Sent(k, issued, time.perf_counter(), "", f"{type(err).__name__}: {err}"[:200]))
        return out

    results = await asyncio.gather(*(run(items) for items in by_sender.values()))
    return sorted((s for r in results for s in r), key=lambda s: s.k)


def send_figures(sends: list[Sent]) -> dict[str, Any]:
    return {
        "sent": sum(1 for s in sends if s.event_id),
        "send_errors": [s.error for s in sends if s.error][:5],
        "send_spread_ms": ms(max(s.issued for s in sends) - min(s.issued for s in sends)),
        "send_call": summary([s.returned - s.issued for s in sends]),
    }

