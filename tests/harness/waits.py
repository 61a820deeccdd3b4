"""Waiting for what a test expects — a stored row, a sweep, a message received — never for a fixed time.

    await until(lambda: gateway.delivered, what="the SMS")     # a condition, polled, with a timeout
    outcome = await handled(app, event_id)                      # the bot has handled one event (its events row)
    await swept_past(app, instant)                              # the bot swept what is due at or after `instant`
    await settled(app, anna, bertil)                            # all it queued is sent, and has reached them

A test that asserts an absence (nobody else was paged, nothing more came) first proves that what would have made
it ran: the bot handled the event, or swept its deadlines after the instant in question, and sent everything it had
queued, and all it sent to the people asked about has reached them — or a later message came that would have come
after the absent one in the same target's order (the outbox keeps each target's order). Only then is "nothing
else" a finding rather than a race.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import App
    from tests.harness.people import Person

POLL_S = 0.02


async def until(predicate: Callable[[], Any | Awaitable[Any]], timeout: float = 20.0,
                what: str | Callable[[], str] = "", every: float = POLL_S) -> Any:
    """Poll `predicate` (sync or async) every `every` seconds until it returns something true, and return that.
    After `timeout` seconds an AssertionError says what was waited for (`what`, or a function that describes what
    is still missing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"not within {timeout:g} s: {said or 'the condition'}")
        await asyncio.sleep(every)


async def past(instant: float, timeout: float = 60.0) -> None:
    """Until the wall clock is past `instant` (a deadline that must run out while the bot is down, say)."""
    await until(lambda: time.time() > instant, timeout, f"the time {instant:.3f}")


async def handled(app: App, event_id: str, timeout: float = 20.0) -> str:
    """Until the bot has handled `event_id`; its outcome ("handled", "refused:…", "ignored", …). What the handling
    queued is in the outbox by then: the outcome is stored in the same transaction."""
    def outcome() -> str | None:
        found = app.store.events.outcome(event_id)
        return None if found in (None, "pending") else found

    result: str = await until(outcome, timeout, f"the bot to handle {event_id}")
    return result


async def swept_past(app: App, instant: float | None = None, timeout: float = 20.0) -> None:
    """Until the bot has swept what is due (escalation and delivery deadlines, SMS for unseen pages, handovers,
    check-ins, the readiness report) at or after `instant` on its own clock (default: now), while caught up with its
    homeserver — a bot behind on its sync holds the deadlines back. A sweep runs in one piece, so what it queued is
    in the outbox when this returns."""
    def caught_up() -> bool:
        return app.caught_up and app.matrix.health.consecutive_errors == 0

    await until(caught_up, timeout, "the bot to be caught up with its homeserver")
    at = max(app.clock() if instant is None else instant, app.clock())
    await until(lambda: app.last_sweep_at is not None and app.last_sweep_at >= at, timeout,
                lambda: f"a sweep at or after {at:.3f} (the last at {app.last_sweep_at})")


async def synced(app: App, batches: int = 1, timeout: float = 30.0) -> None:
    """Until the bot has handled `batches` more sync batches whole. Its sync loop takes one batch after another, so
    a batch is handled once the next has come (`last_sync_at` moves at each)."""
    health = app.matrix.health
    for _ in range(batches + 1):
        last = health.last_sync_at
        await until(lambda last=last: health.last_sync_at > last, timeout, "the bot's next sync")


async def sent_out(app: App, timeout: float = 30.0) -> None:
    """Until the outbox holds nothing waiting: every message queued so far was sent, or given up."""
    await until(lambda: app.store.outbox.counts().get("pending", 0) == 0, timeout,
                lambda: f"the outbox to empty ({app.store.outbox.counts()})")


def sent_messages(app: App) -> list[tuple[str, str, str]]:
    """(target kind, target, event id) of every message the bot has sent from its outbox, oldest first."""
    rows = app.store.db.execute(
        "SELECT target_kind, target, sent_event_id FROM outbox WHERE status = 'sent' AND event_type = 'm.room.message'"
        " ORDER BY id").fetchall()
    return [(str(kind), str(target), str(event_id)) for kind, target, event_id in rows]


def _meant_for(app: App, person: Person, kind: str, target: str) -> bool:
    if kind == "user":
        return target == person.user_id
    if kind == "room":
        return person.in_room(target)
    if kind == "alarm":
        state = app.store.alarm_rooms.state(target)
        return state is not None and bool(state[0]) and person.in_room(state[0])
    return False


async def delivered(app: App, *people: Person, timeout: float = 30.0) -> None:
    """Until every message the bot has sent so far to one of `people` — to them, or to a room they are in (an alarm's
    room too) — has reached them, readable or not."""
    def missing() -> list[tuple[str, str]]:
        return [(person.user_id, event_id) for kind, target, event_id in sent_messages(app) for person in people
                if _meant_for(app, person, kind, target) and not person.has_received(event_id)]

    await until(lambda: not missing(), timeout, lambda: f"messages to reach their readers: {missing()}")


async def settled(app: App, *people: Person, timeout: float = 30.0) -> None:
    """Until the bot has nothing left to send and all it sent has reached `people`: what they received is then
    everything the bot has said to them so far, and a message they lack was never sent."""
    await sent_out(app, timeout)
    await delivered(app, *people, timeout=timeout)
