"""Messages the bot could not decrypt: kept, their keys requested, retried, and the sender told if they stay unreadable.

Never silence: an officer whose `!larm` the bot cannot read must learn that it did not arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from bot.channels.outbox import Origin, Outbox
from bot.core.effects import SendRoom
from bot.core.i18n import t
from bot.intake.inbox import Inbox
from bot.matrix.port import MatrixPort
from bot.names import Names
from bot.store import Store
from rosters.wallclock import hhmm

log = logging.getLogger(__name__)


class Undecryptable:
    def __init__(self, store: Store, matrix: MatrixPort, inbox: Inbox, outbox: Outbox, clock: Callable[[], float],
                 wait_s: int, lang: str, zone: Callable[[], tzinfo],
                 contact: Callable[[str], str | None], names: Names) -> None:
        self.names = names
        self.contact = contact  # room → "call … : number" in a police room, else None
        self.store = store
        self.matrix = matrix
        self.inbox = inbox
        self.outbox = outbox
        self.clock = clock
        self.wait_s = wait_s
        self.lang = lang
        self.zone = zone

    async def retry(self) -> bool:
        """Try every waiting event again; True if one became readable (the inbox has work)."""
        readable = False
        for waiting in self.store.events.waiting_undecryptable():
            incoming = await self.matrix.try_decrypt(waiting.source)
            if incoming is not None:
                with self.store.transaction():
                    self.inbox.record(incoming)
                    self.store.events.set_undecryptable(waiting.event_id, "decrypted")
                readable = True
                log.info("event %s decrypted after its key arrived", waiting.event_id)
            elif self.clock() - waiting.first_seen > self.wait_s:
                sent_at = datetime.fromtimestamp(int(waiting.source.get("origin_server_ts", 0)) / 1000, UTC)
                text = t("runtime.undecryptable", self.lang, time=hhmm(sent_at, self.zone()))
                call = self.contact(waiting.room_id)
                if call:
                    text = f"{text}\n{call}"
                with self.store.transaction():
                    # It rings: the sender believes they were heard (a !larm, an !ok) and must send it again now.
                    who = self.names.mention(waiting.sender, waiting.room_id)
                    self.outbox.queue([SendRoom(waiting.room_id, text, reply_to=waiting.event_id, mentions=(who,))],
                                      Origin(f"undecryptable:{waiting.event_id}"))
                    self.store.events.set_undecryptable(waiting.event_id, "told")
                log.warning("event %s from %s could not be decrypted; sender told", waiting.event_id, waiting.sender)
        return readable
