"""What a standby synced lately, for the takeover: every instance syncs, but only the acting one records and handles
what it reads. A standby writes nothing to the shared database, so it keeps the batches of the last few minutes in
memory; at a takeover they go to the inbox as one batch, and what the instance that died had recorded already is
not recorded again (an event id is a key: bot/store/events.py). Membership changes are kept too, the newest per
person and room, so that a stranger who entered a room of the bot's own while no instance acted is still removed
(bot/trust/rooms.py) once one does.

How far back: as far as a command can still be carried out (`bot.catchup_window_s`, a minute more), so nothing that
could still act is lost whatever the instance before did or failed to read; what is older would only be answered as
too old. Nothing earlier than the standby's own start is missing either: its first sync fills the gap back to the
room heads the acting instance stored (bot/store/sync.py), as after any restart.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.matrix.port import Batch, Incoming, Membership, Receipt
from bot.store.sync import Head

KEEP_S = 960.0  # the default catch-up window (900 s) and a minute; far longer than a takeover takes (some 15 s)
KEEP_EVENTS = 5000  # a bound on memory whatever happens in the rooms


@dataclass
class RecentBatches:
    clock: Callable[[], float]
    keep_s: float = KEEP_S
    most: int = KEEP_EVENTS
    _events: OrderedDict[str, Incoming] = field(default_factory=OrderedDict)
    _receipts: list[Receipt] = field(default_factory=list)
    _heads: dict[str, Head] = field(default_factory=dict)
    _next_batch: str | None = None
    # (room, person) → when it was synced, the newest change: a membership carries no time of its own here
    _memberships: OrderedDict[tuple[str, str], tuple[float, Membership]] = field(default_factory=OrderedDict)

    def keep(self, batch: Batch) -> None:
        for event in batch.events:
            self._events[event.event_id] = event
        now = self.clock()
        for change in batch.memberships:
            key = (change.room_id, change.user_id)
            self._memberships.pop(key, None)
            self._memberships[key] = (now, change)
        self._receipts.extend(batch.receipts)
        self._heads.update(batch.heads)
        self._next_batch = batch.next_batch
        self._trim()

    def _trim(self) -> None:
        oldest_ms = (self.clock() - self.keep_s) * 1000
        while self._events and (len(self._events) > self.most
                                or next(iter(self._events.values())).origin_ts < oldest_ms):
            self._events.popitem(last=False)
        self._receipts = [r for r in self._receipts if r.ts * 1000 >= oldest_ms][-self.most:]
        while self._memberships and (len(self._memberships) > self.most
                                     or next(iter(self._memberships.values()))[0] * 1000 < oldest_ms):
            self._memberships.popitem(last=False)

    def __len__(self) -> int:
        return len(self._events)

    def backlog(self) -> Batch | None:
        """Everything kept, as one batch in the order it happened, and forgotten here; None if no batch came yet."""
        if self._next_batch is None:
            return None
        self._trim()
        events = sorted(self._events.values(), key=lambda e: e.origin_ts)
        batch = Batch(events, self._next_batch, dict(self._heads), list(self._receipts),
                      [change for _, change in self._memberships.values()])
        self._events.clear()
        self._memberships.clear()
        self._receipts = []
        self._heads = {}
        self._next_batch = None
        return batch
