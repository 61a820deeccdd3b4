"""The audit trail's anchor outside the bot's reach: its head posted to the supervisors, and a cut trail told at start.

The head (the newest entry's number and MAC, bot/store/audit.py) goes to each supervisor in their direct room when it
has changed, at most once an hour; someone who later deletes the newest entries, or rewrites the trail, cannot take
back what was posted, and `jourbot audit verify --head SEQ:MAC` checks the trail against it. At start, a trail that
no longer reaches the head in its file (entries removed while the bot was stopped, or lost to a power cut) is logged,
recorded in the trail (`audit.gap`) and told to the supervisors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from bot.core.effects import Effect, SendUser
from bot.core.i18n import t
from bot.store import Store
from bot.store.audit import Head

log = logging.getLogger(__name__)

POSTED_KEY = "audit_head_posted"
POST_EVERY_S = 3600.0


class TrailAnchor:
    def __init__(self, store: Store, queue: Callable[[list[Effect], str], None],
                 supervisors: Callable[[], set[str]], lang: str, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self._started_at = clock()
        self.queue = queue  # messages into the outbox, inside the caller's transaction
        self.supervisors = supervisors
        self.lang = lang
        # Read before anything of this start appends an entry (and moves the head in the file on).
        self.saved = store.audit.head_from_file()
        self.cut = store.audit.cut()

    def started(self) -> None:
        """Once the bot can send: a cut trail is recorded and told."""
        if not self.cut:
            return
        log.error("the audit trail does not reach its head: %s", self.cut)
        last = self.store.audit.head()
        head, newest = self.saved.seq if self.saved else 0, last.seq if last else 0
        key = "runtime.audit.cut" if newest < head else "runtime.audit.rewritten"
        told = t(key, self.lang, head=head, last=newest)
        with self.store.transaction():
            entry = self.store.audit.append("jourbot", "audit.gap", "", {
                "found": self.cut, "head": str(self.saved) if self.saved else "", "last": last.seq if last else 0})
            self.queue([SendUser(user, told) for user in sorted(self.supervisors())], f"audit-gap:{entry}")
        self.cut = ""

    def post_head(self) -> None:
        """The head to each supervisor, if it has changed since it was last posted and that was an hour ago or more
        (the first time: an hour after the start). Called every minute."""
        now = self.clock()
        head = self.store.audit.head()
        raw = self.store.meta.get(POSTED_KEY)
        posted: dict[str, str | float] = json.loads(raw) if raw else {"head": "", "at": self._started_at}
        if head is None or posted["head"] == str(head) or now - float(posted["at"]) < POST_EVERY_S:
            return
        supervisors = sorted(self.supervisors())
        with self.store.transaction():
            self.store.meta.set(POSTED_KEY, json.dumps({"head": str(head), "at": now}))
            self.queue([SendUser(user, self.text(head)) for user in supervisors], f"audit-head:{head}")

    def text(self, head: Head) -> str:
        return t("runtime.audit.head", self.lang, head=str(head), seq=head.seq)
