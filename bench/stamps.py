"""What the clients receive, stamped: each decrypted message with the instant nio handed it to the callbacks.

The harness's `Person.wait_for` records no instant and may sleep up to 0.2 s between looks; a latency needs the
instant. Shared by every benchmark that times messages between real clients.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nio import MatrixRoom, RoomMessageNotice, RoomMessageText, SyncResponse

from tests.harness.people import Person

BOT = "@jourbot:localhost"
PAGE_ID = re.compile(r"Larm (L\d+)")
LONG_POLL_MS = 30_000  # as Element and the bot (matrix.sync_timeout_s) ask for
# Our clients must see every message: Synapse's default of 10 timeline events per room and sync would make nio skip
# the rest of a burst (it does not fill gaps, as Element does by paging back). The bot is left with its own filter:
# how it copes is part of the figures.
TIMELINE_FILTER = {"room": {"timeline": {"limit": 1000}}}


class LongPollPerson(Person):
    """A test user whose client long-polls as real clients do. The harness's clients ask /sync again every 0.5 s,
    which costs the homeserver and this process's loop four empty syncs a second that no real deployment has."""

    sync_timeout_ms = LONG_POLL_MS


def widen_timeline(person: Person) -> dict[str, int]:
    """Make the person's /sync ask for up to 1000 timeline events per room; count limited timelines that still occur."""
    client = person.client
    original = client.sync
    counts = {"syncs": 0, "limited_timelines": 0}

    async def sync(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("sync_filter", TIMELINE_FILTER)
        incremental = bool(client.next_batch)
        resp = await original(*args, **kwargs)
        if isinstance(resp, SyncResponse) and incremental:
            counts["syncs"] += 1
            counts["limited_timelines"] += sum(bool(i.timeline.limited) for i in resp.rooms.join.values())
        return resp

    client.sync = sync  # type: ignore[method-assign]
    return counts


@dataclass(frozen=True)
class Arrival:
    at: float
    room_id: str
    event_id: str
    sender: str
    body: str
    msgtype: str
    content: dict[str, Any]

    @property
    def reply_to(self) -> str | None:
        return (self.content.get("m.relates_to", {}).get("m.in_reply_to") or {}).get("event_id")

    def pages(self, user_id: str) -> bool:
        """A page: an m.text from the bot that mentions the reader (an m.notice would not ping); the reminder of an
        unanswered page is not another page."""
        return (
            self.sender == BOT and self.msgtype == "m.text" and PAGE_ID.search(self.body) is not None
            and user_id in self.content.get("m.mentions", {}).get("user_ids", [])
            and "🔁" not in self.body.split("\n", 1)[0]
        )

    @property
    def alarm_id(self) -> str:
        found = PAGE_ID.search(self.body)
        return found.group(1) if found else ""


class Inbox:
    """Stamps every decrypted message a person's client receives, keeps them in order, and wakes whoever waits."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.arrivals: list[Arrival] = []
        self.last_from_bot = 0.0
        self._new = asyncio.Event()
        self._waiting: list[tuple[Callable[[Arrival], bool], asyncio.Future[Arrival]]] = []
        person.client.add_event_callback(self._on_message, (RoomMessageText, RoomMessageNotice))

    def _on_message(self, room: MatrixRoom, event: RoomMessageText | RoomMessageNotice) -> None:
        now = time.perf_counter()
        content = event.source.get("content", {})
        arrival = Arrival(now, room.room_id, event.event_id, event.sender, event.body, content.get("msgtype", ""),
                          content)
        self.arrivals.append(arrival)
        if event.sender == BOT:
            self.last_from_bot = now
        for predicate, future in list(self._waiting):
            if not future.done() and predicate(arrival):
                future.set_result(arrival)
                self._waiting.remove((predicate, future))
        self._new.set()

    def expect(self, predicate: Callable[[Arrival], bool]) -> asyncio.Future[Arrival]:
        """The next arrival that matches. Register before sending, so an answer that beats `send`'s return is not
        missed."""
        future: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiting.append((predicate, future))
        return future

    @property
    def mark(self) -> int:
        return len(self.arrivals)

    def since(self, mark: int, predicate: Callable[[Arrival], bool]) -> list[Arrival]:
        return [a for a in self.arrivals[mark:] if predicate(a)]

    async def until(
        self, mark: int, predicate: Callable[[Arrival], bool], done: Callable[[list[Arrival]], bool], timeout: float
    ) -> tuple[list[Arrival], bool]:
        """Arrivals since `mark` that match, once `done(them)` holds or `timeout` passes; and whether it held."""
        deadline = time.monotonic() + timeout
        seen = mark
        found: list[Arrival] = []
        while True:
            found += [a for a in self.arrivals[seen:] if predicate(a)]
            seen = len(self.arrivals)
            if done(found):
                return found, True
            left = deadline - time.monotonic()
            if left <= 0:
                return found, False
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), min(left, 1.0))
            except TimeoutError:
                pass
