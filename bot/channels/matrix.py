"""The Matrix channel: a message to a person goes to their direct room (chosen, or made fresh, by the room guard,
bot/trust/rooms.py), must reach them under the trust policy, and is never sent while anyone else is in that room;
a message to a room goes there, guarded the same way when the room is one the bot owns."""

from __future__ import annotations

from typing import Protocol

from bot.channels.channel import HOMESERVER
from bot.matrix.port import DeliveryFailure, MatrixPort
from bot.store import OutboxRow


class Rooms(Protocol):
    """The rooms the bot owns (bot/trust/rooms.py)."""

    async def direct_room(self, user_id: str, urgent: bool) -> str: ...
    def audience_of(self, room_id: str) -> frozenset[str] | None: ...


class MatrixChannel:
    lane = HOMESERVER

    def __init__(self, matrix: MatrixPort, rooms: Rooms) -> None:
        self.matrix = matrix
        self.rooms = rooms

    async def deliver(self, row: OutboxRow) -> str:
        if row.target_kind == "user":
            room_id = await self.rooms.direct_room(row.target, urgent=row.page is not None)
            return await self.matrix.send(room_id, row.content, row.txn_id, must_reach=row.target,
                                          audience=frozenset({row.target}))
        if row.target_kind == "room":
            return await self.matrix.send(row.target, row.content, row.txn_id,
                                          audience=self.rooms.audience_of(row.target))
        raise DeliveryFailure("rejected", f"Matrix carries no {row.target_kind} targets")
