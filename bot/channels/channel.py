"""What every way of reaching people does, seen from the sender (bot/channels/sender.py).

A channel delivers one stored message (an outbox row) and answers with a reference (the event id, a gateway's id),
or raises DeliveryFailure: transient (tried again, in the target's order, until its delivery deadline and beyond) or
permanent (never again; the listeners are told). Matrix (`matrix.py`: people's direct rooms and other rooms) and the
alarm rooms (bot/alarm/rooms.py) are channels; a new way to reach someone is one more module that implements
`deliver`, registered by the App under the target kind its rows carry.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.effects import Effect
from bot.store import OutboxRow


class Channel(Protocol):
    async def deliver(self, row: OutboxRow) -> str:
        """Deliver `row`; its reference, or DeliveryFailure."""


class DeliveryListener(Protocol):
    """Told of every delivery and every message given up (the alarm service, the check-ins, seen pages)."""

    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]: ...
    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]: ...
