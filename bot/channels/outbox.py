"""The outbox: effects become stored messages inside the transaction that caused them; a loop sends them after commit.

- Messages to one target (a room, or a person's direct room) leave strictly in the order they were queued, across
  retries, backoffs and outages: a target's next message waits until the one before it is sent or given up.
- Different targets are served concurrently (bounded), most urgent first: pages, then everything else about an alarm,
  then answers to other commands. Ordinary traffic never takes the last free slots, so no amount of chatter delays
  a page.
- A page goes out alone: while one is being sent, nothing less urgent starts, unless it has waited PAGE_HEAD_START_S
  already. The homeserver stores events one after another, so a message sent beside a page (the police's
  "registrerat", an alarm room) holds up the page and the responder's sync by as long as it takes itself (issue 17).
- A transient failure (network, 5xx, 429 with its retry-after) is retried with the same transaction id, so the
  homeserver drops a duplicate after a lost response. A permanent one (413, 403, unknown user, room gone, no verified
  device) is never retried: the listener is told, and for a page the person counts as unreachable.
- Every message has a delivery deadline. A page still undelivered at its deadline is reported like a permanent
  failure (and still sent if the homeserver comes back: the person may yet answer); the store is the timer for it,
  swept with the escalation deadlines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.effects import Effect, PageUser, Reply, SendRoom, SendUser
from bot.matrix.content import MAX_CONTENT_BYTES, content_for, content_size, longest_fitting
from bot.matrix.port import DeliveryFailure, MatrixPort, backoff
from bot.store import NewMessage, OutboxRow, Store
from bot.store.outbox import alarm_purpose, page_purpose, reminder_purpose
from bot.watch.metrics import Metrics

log = logging.getLogger(__name__)

PAGE, ALARM, OTHER = 0, 1, 2
# How long a message may wait for pages being sent: long enough for a send, short enough that a page stuck on a slow
# homeserver, or a burst of pages, does not stop the rest.
PAGE_HEAD_START_S = 2.0


@dataclass(frozen=True)
class Origin:
    """What caused a set of messages. `cause` must be unique per set (an event id, a deadline, a delivery): the
    messages' transaction ids are derived from it. `room_id`/`event_id`: where a Reply goes and what it answers."""

    cause: str
    room_id: str | None = None
    event_id: str | None = None


class AlarmRoomDelivery(Protocol):
    async def deliver(self, row: OutboxRow) -> str:
        """Carry out a row for the target ("alarm", alarm id) in that alarm's room; raises DeliveryFailure."""


class Rooms(Protocol):
    """The rooms the bot owns (bot/trust/rooms.py): which direct room to write to a person in, and whom a room is
    for, so nothing goes into one while someone else is in it."""

    async def direct_room(self, user_id: str, urgent: bool) -> str: ...
    def audience_of(self, room_id: str) -> frozenset[str] | None: ...
    def alarm_of_room(self, room_id: str) -> str | None:
        """The alarm whose open alarm room `room_id` is (messages there keep one order with the room's own)."""


class DeliveryListener(Protocol):
    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]: ...
    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]: ...


@dataclass(frozen=True)
class OutboxSettings:
    page_delivery_s: float = 60.0  # a page not delivered by then: its person counts as unreachable
    message_delivery_s: float = 900.0  # any other message: logged as overdue
    concurrency: int = 8  # targets served at once
    reserved_for_alarms: int = 2  # of those, slots ordinary traffic may not take


class Outbox:
    def __init__(self, store: Store, matrix: MatrixPort, clock: Callable[[], float], listener: DeliveryListener,
                 settings: OutboxSettings, rooms: Rooms, metrics: Metrics | None = None,
                 alarm_rooms: AlarmRoomDelivery | None = None) -> None:
        self.rooms = rooms
        self.metrics = metrics or Metrics()
        self.alarm_rooms = alarm_rooms
        self.store = store
        self.matrix = matrix
        self.clock = clock
        self.listener = listener
        self.settings = settings
        self._wake = asyncio.Event()
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._pages: set[tuple[str, str]] = set()  # targets whose page is in flight

    # --- queueing (inside the caller's transaction) ------------------------------------------------------------------
    def queue(self, effects: Sequence[Effect], origin: Origin) -> None:
        for index, effect in enumerate(effects):
            self.store.outbox.add(self._message(effect, origin), origin.cause, index)

    def _message(self, effect: Effect, origin: Origin) -> NewMessage:
        now = self.clock()
        later = now + self.settings.message_delivery_s
        if isinstance(effect, PageUser):
            content = _fitted(effect.text, lambda text: content_for(text, mentions=(effect.mention,)))
            purpose = (reminder_purpose if effect.reminder else page_purpose)(effect.alarm, effect.step)
            return NewMessage("user", effect.user_id, content, purpose, PAGE, now + self.settings.page_delivery_s)
        purpose, priority = (alarm_purpose(effect.alarm), ALARM) if effect.alarm else ("notice", OTHER)
        if isinstance(effect, Reply):
            if origin.room_id is None:
                raise ValueError(f"a Reply needs the room of a command ({origin.cause})")
            alarm_room_of = self.rooms.alarm_of_room(origin.room_id)
            if alarm_room_of is not None:
                # In an alarm room the answer keeps one order with the room's own rows: before the farewell.
                content = _fitted(effect.text, lambda text: content_for(text, effect.notice, reply_to=origin.event_id))
                return NewMessage("alarm", alarm_room_of, content, alarm_purpose(alarm_room_of), ALARM, later)
            content = _fitted(effect.text, lambda text: content_for(text, effect.notice, reply_to=origin.event_id))
            return NewMessage("room", origin.room_id, content, purpose if effect.alarm else "reply", priority, later)
        if isinstance(effect, SendRoom):
            content = _fitted(effect.text, lambda text: content_for(text, reply_to=effect.reply_to,
                                                                    mentions=effect.mentions))
            return NewMessage("room", effect.room_id, content, purpose, priority, later)
        if isinstance(effect, SendUser):
            content = _fitted(effect.text, lambda text: content_for(text, mentions=effect.mentions))
            return NewMessage("user", effect.user_id, content, purpose, priority, later)
        raise TypeError(f"not a message: {effect!r}")

    # --- the send loop ---------------------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        await self.matrix.ready.wait()
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    next_at = self.dispatch()
                except Exception:  # the sender must outlive any one failure: a dead outbox is a lost alarm
                    log.exception("outbox round failed; trying again")
                    next_at = self.clock() + 1
                wait = 30.0 if next_at is None else min(30.0, max(0.01, next_at - self.clock()))
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            for task in list(self._in_flight.values()):
                task.cancel()
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    def dispatch(self) -> float | None:
        """Start a send for every target whose next message is due, most urgent first; the next retry instant."""
        now = self.clock()
        next_at: float | None = None
        for row, urgency in self.store.outbox.heads():  # pages first
            if row.key in self._in_flight:
                continue
            if row.next_attempt_at > now:
                next_at = row.next_attempt_at if next_at is None else min(next_at, row.next_attempt_at)
                continue
            if urgency != PAGE and self._pages:
                release = max(row.created_at, row.next_attempt_at) + PAGE_HEAD_START_S
                if release > now:
                    next_at = release if next_at is None else min(next_at, release)
                    continue
            limit = self.settings.concurrency
            if urgency == OTHER:
                limit -= self.settings.reserved_for_alarms
            if len(self._in_flight) >= limit:
                continue
            task = asyncio.create_task(self._send(row), name=f"send {row.txn_id}")
            self._in_flight[row.key] = task
            if urgency == PAGE:
                self._pages.add(row.key)
            task.add_done_callback(self._done_callback(row.key))
        return next_at

    def _done_callback(self, key: tuple[str, str]) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self._in_flight.pop(key, None)
            self._pages.discard(key)
            self._wake.set()

        return done

    async def drain(self) -> None:
        """Send everything that can be sent now (tests and shutdown): until nothing is due or in flight."""
        while True:
            self.dispatch()
            if not self._in_flight:
                return
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _send(self, row: OutboxRow) -> None:
        try:
            if row.target_kind == "alarm":
                if self.alarm_rooms is None:  # never a user's direct room: "L1" is no user
                    raise DeliveryFailure("rejected", "no alarm rooms in this outbox")
                event_id = await self.alarm_rooms.deliver(row)
            elif row.target_kind == "user":
                room_id = await self.rooms.direct_room(row.target, urgent=row.page is not None)
                event_id = await self.matrix.send(room_id, row.content, row.txn_id, must_reach=row.target,
                                                  audience=frozenset({row.target}))
            else:
                event_id = await self.matrix.send(row.target, row.content, row.txn_id,
                                                  audience=self.rooms.audience_of(row.target))
        except DeliveryFailure as failure:
            self._failed(row, failure)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:  # whatever else went wrong, the message stays queued and is retried
            log.exception("outbox %s: unexpected error", row.txn_id)
            self._failed(row, DeliveryFailure("server", f"{type(err).__name__}: {err}"))
            return
        at = self.clock()
        with self.store.transaction():
            self.store.outbox.sent(row.id, event_id)
            self.queue(self.listener.delivered(row, event_id, at), Origin(f"{row.txn_id}:delivered"))

    def _failed(self, row: OutboxRow, failure: DeliveryFailure) -> None:
        now = self.clock()
        self.metrics.send_failed(failure.reason)
        where = f"{row.target_kind}:{row.target}"
        if failure.permanent:
            log.warning("outbox %s to %s failed for good (%s): %s", row.txn_id, where, failure.reason,
                        failure.detail[:200])
            with self.store.transaction():
                self.store.outbox.failed(row.id, failure.reason, failure.detail)
                self.queue(self.listener.undeliverable(row, failure.reason, now), Origin(f"{row.txn_id}:failed"))
            return
        delay = failure.retry_after_s if failure.retry_after_s is not None else backoff(row.attempts + 1, 2.0, 60.0)
        with self.store.transaction():
            self.store.outbox.retry_at(row.id, now + delay, str(failure))
        if row.attempts == 0 or (row.attempts + 1) % 10 == 0:
            log.warning("outbox %s to %s failed (attempt %d, %s), retry in %.1f s", row.txn_id, where,
                        row.attempts + 1, failure.reason, delay)

    # --- delivery deadlines (from the timers' sweep, inside its transaction) -----------------------------------------
    def sweep_overdue(self, now: float) -> None:
        for row in self.store.outbox.overdue(now):
            self.store.outbox.mark_overdue(row.id)
            if row.page is not None:
                self.queue(self.listener.undeliverable(row, "timeout", now), Origin(f"{row.txn_id}:overdue"))
            else:
                log.warning("outbox %s to %s:%s not delivered within %.0f s; still trying", row.txn_id,
                            row.target_kind, row.target, now - row.created_at)

    def homeserver_back(self) -> None:
        """Messages that waited out an outage go now, not after their backoff: a page must not idle."""
        with self.store.transaction():
            self.store.outbox.retry_all_now()

    def next_deadline(self) -> float | None:
        return self.store.outbox.next_deliver_by()


def _fitted(text: str, build: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The message, shortened with a marker if it would not fit the homeserver's limit: nothing the bot sends may be
    refused for its size. (Pages are fitted before this, keeping the rest for the acceptor; this is the last guard.)"""
    content = build(text)
    if content_size(content) <= MAX_CONTENT_BYTES:
        return content
    cut = longest_fitting(text, lambda head: build(head + " …"))
    log.warning("a message of %d characters was shortened to %d to fit", len(text), cut)
    return build(text[:cut] + " …")
