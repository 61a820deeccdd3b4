"""What every way of reaching people does, seen from the sender (bot/channels/sender.py).

Every message the bot sends is an outbox row (bot/store/outbox.py) with a target kind: "user" and "room" (Matrix,
`matrix.py`), "alarm" (the alarm rooms, bot/alarm/rooms.py), "sms" (`sms/channel.py`). One send loop, the sender's,
carries them all: the order per target, the backoff, the bookkeeping of what is in flight, the wake-up after a commit
and the delivery deadlines are its, once, for every channel.

A channel delivers one row and answers with a reference (the event id, the gateway's id), or raises DeliveryFailure:
transient (tried again, in the target's order, with backoff) or permanent (never again). DROPPED is the permanent
failure of a message its channel found no longer needed when its turn came (an SMS for a page that was read since):
stored as "dropped", not "failed"; the listeners hear it with that reason, and tell no one.

Each channel belongs to a lane: what it sends through. The sender's concurrency bound and its rule that a page goes
out alone hold within a lane, and only the homeserver's lane waits for the bot's first sync: a hanging SMS gateway
takes no slot a page needs, and an SMS never waits for a page or for the homeserver.

The listeners (`DeliveryListener`, told inside the transaction that records the outcome) turn outcomes into effects
and state: the alarm service counts a page's person unreachable, the SMS channel sends that page by SMS as well, and
tells the supervisors when an SMS fails.

A row whose channel is not registered (its config section turned off) waits, never sent another way: turned on
again, it goes if it is still needed.

A third channel (a voice call, a push service) is one module that implements `Channel` (and `DeliveryListener` for
what its outcomes mean), queues its rows with its own target kind (`Outbox.queue_once`), and one config section; the
App registers it under that target kind when the section is enabled. Nothing in the sender or the store changes.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.effects import Effect
from bot.store import OutboxRow

HOMESERVER = "homeserver"  # the lane of Matrix and the alarm rooms
DROPPED = "dropped"  # the reason of a message no longer needed (a permanent failure, stored as "dropped")


class Channel(Protocol):
    lane: str  # what it sends through: HOMESERVER, or its own (e.g. "sms")

    async def deliver(self, row: OutboxRow) -> str:
        """Deliver `row`; its reference, or DeliveryFailure."""


class DeliveryListener(Protocol):
    """Told of every delivery, of a message's first transient failure, and of every message given up (the alarm
    service, the check-ins, seen pages, the SMS channel)."""

    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]: ...
    def failing(self, row: OutboxRow, reason: str, at: float) -> list[Effect]: ...
    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]: ...
