"""Seen: when a paged person read their page, from the read receipts the sync brings ("sedd 03:12" in !status).

This sits between the outbox and the alarm service: every delivered page is recorded with the room it went to, so a
later receipt in that room can be matched to it (and, with SMS on, one not read in time goes by SMS as well).
Only public receipts (m.read) reach the bot; a client set to send private ones (m.read.private) is never "seen".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.alarm.service import AlarmService
from bot.core.effects import Effect
from bot.matrix.port import Receipt
from bot.store import OutboxRow, Store
from bot.store.page_watch import WatchedPage

log = logging.getLogger(__name__)

class SeenPages:
    """The outbox's delivery listener: the alarm service's, plus what this module keeps about pages."""

    def __init__(self, store: Store, alarms: AlarmService, unseen_after_s: float | None = None) -> None:
        self.store = store
        self.alarms = alarms
        self.unseen_after_s = unseen_after_s  # None: nothing to do about an unseen page

    # --- the outbox's listener (inside its transaction) ------------------------------------------------------------
    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]:
        effects = self.alarms.delivered(row, event_id, at)
        page = row.page
        room_id = self.store.direct_rooms.get(row.target) if page is not None else None
        if page is not None and room_id:
            due = at + self.unseen_after_s if self.unseen_after_s else None
            self.store.page_watch.delivered(WatchedPage(event_id, page[0], row.target, room_id, at), due)
        return effects

    def failing(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        return []  # a page still being tried is the delivery deadline's (bot/channels/sender.py)

    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        return self.alarms.undeliverable(row, reason, at)

    # --- receipts from the sync ------------------------------------------------------------------------------------
    def on_receipts(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        with self.store.transaction():
            for receipt in receipts:
                for page in self.store.page_watch.read_up_to(receipt.room_id, receipt.user_id, receipt.event_id,
                                                             receipt.ts):
                    self.store.audit.append(page.user_id, "page.seen", page.alarm_id, {"at": receipt.ts})
                    log.info("alarm %s: %s read the page", page.alarm_id, page.user_id)
