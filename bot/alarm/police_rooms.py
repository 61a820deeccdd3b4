"""A police room that is not encrypted gets no alarm details; the supervisors are warned, once per room."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.channels.outbox import Origin, Outbox
from bot.core.effects import SendUser
from bot.core.i18n import t
from bot.matrix.port import MatrixPort
from bot.store import Store

log = logging.getLogger(__name__)


class PoliceRoomWatch:
    def __init__(self, store: Store, matrix: MatrixPort, outbox: Outbox, police_rooms: Sequence[str],
                 supervisors: Callable[[], set[str]], lang: str) -> None:
        self.store = store
        self.matrix = matrix
        self.outbox = outbox
        self.police_rooms = tuple(police_rooms)
        self.supervisors = supervisors
        self.lang = lang

    def check(self) -> None:
        for room_id in self.police_rooms:
            if not self.matrix.room_known(room_id) or self.matrix.room_encrypted(room_id):
                continue
            key = f"unencrypted-warned:{room_id}"
            if self.store.meta.get(key):
                continue
            text = t("runtime.police_room_unencrypted", self.lang, room=room_id)
            with self.store.transaction():
                self.store.meta.set(key, "1")
                self.outbox.queue([SendUser(s, text) for s in sorted(self.supervisors())], Origin(key))
            log.warning("police room %s is not encrypted; supervisors warned", room_id)
