"""Nobody on a roster meets the bot for the first time through a page.

Element in its strictest mode (matrix-js-sdk 43 with its Rust crypto, "exclude insecure devices") decrypts what waits
in a room the moment its user joins, before it has asked the homeserver for the other members' devices, and refuses a
message from a device it does not know yet for good (UNKNOWN_SENDER_DEVICE). A page sent into a direct room made for
it, its reader only invited, is such a message. So:

- Ahead of time, every person on the rosters in force (every unit's members and supervisors, the supervisors named
  beside them, whoever covers by an override) who has no direct room with the bot is invited to one: opened from the
  sweep, one every `every_s` (the homeserver limits how fast rooms are made, and a page's own fresh room or an alarm
  room must still find room under that limit), soonest on duty first, and only while no page or other alarm traffic
  is being sent or waits to be (a room made beside a page holds the page up). The sweep is the acting instance's: a
  standby opens nothing.
- At a person's first join of their direct room (an invitation accepted), the bot's devices are known to their client
  from then on, and the room's first readable message goes: the welcome (what the room is for, that pages come here,
  `!hjälp`); or, when pages came into the room while they were only invited, each of those still waiting for their
  answer again, as its reminder (🔁), since the one they got on joining may be unreadable. No welcome then: it would
  only stand between them and the page.
- Restarts: the store's direct rooms are the record (a person who has one is not invited to another; an unsound one is
  replaced as bot/trust/rooms.py always does), and what a join queues has a cause of that room's, queued once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.core.effects import Effect, SendUser
from bot.core.i18n import t
from bot.matrix.port import DeliveryFailure, Membership
from bot.store import Store
from bot.store.outbox import txn_id

log = logging.getLogger(__name__)

Queue = Callable[[list[Effect], str], None]
QUIET_RETRY_S = 5.0  # how soon to look again when urgent traffic kept a room from being opened


class Rooms(Protocol):
    async def direct_room(self, user_id: str, urgent: bool) -> str: ...


@dataclass(frozen=True)
class Settings:
    enabled: bool  # [bot] first_contact
    every_s: float  # [bot] first_contact_every_s: one room opened ahead of time per this many seconds
    lang: str
    bot_user: str


class FirstContact:
    def __init__(self, store: Store, rooms: Rooms, queue: Queue, people: Callable[[], list[str]],
                 urgent_waiting: Callable[[], bool], remind_joined: Callable[[str], list[Effect]],
                 rearm: Callable[[], None], clock: Callable[[], float], settings: Settings) -> None:
        self.store, self.rooms, self.queue, self.clock = store, rooms, queue, clock
        self.people = people  # everyone on the rosters in force, soonest on duty first
        self.urgent_waiting = urgent_waiting
        self.remind_joined = remind_joined
        self.rearm = rearm  # the timers: something is due at another instant now
        self.enabled, self.every_s, self.lang, self.bot_user = (settings.enabled, settings.every_s, settings.lang,
                                                                 settings.bot_user)
        self._next_at = 0.0
        self._waiting: list[str] | None = None  # who is still to be invited, in order; None: not read yet
        self._refused: set[str] = set()  # the homeserver refused their room for good (an unknown user): not again
        self._opening: asyncio.Task[None] | None = None

    # --- opening rooms ahead of time (from the acting instance's sweep) ----------------------------------------------
    def roster_changed(self) -> None:
        """A roster reload may have brought new people."""
        self._waiting = None
        self.rearm()

    def next_at(self) -> float | None:
        """When the sweep has a room to open; None while one is being opened or nobody is left."""
        if not self.enabled or self._opening is not None or self._waiting == []:
            return None
        return self._next_at

    def sweep(self, now: float) -> None:
        if not self.enabled or self._opening is not None or now < self._next_at:
            return
        user = self._next_person()
        if user is None:
            return
        if self.urgent_waiting():
            self._next_at = now + QUIET_RETRY_S
            return
        self._next_at = now + self.every_s
        self._opening = asyncio.get_running_loop().create_task(self._open(user), name=f"first contact {user}")

    def _next_person(self) -> str | None:
        if self._waiting is None:
            self._waiting = [u for u in dict.fromkeys(self.people()) if u != self.bot_user]
        while self._waiting:
            user = self._waiting[0]
            if user not in self._refused and self.store.direct_rooms.get(user) is None:
                return user
            self._waiting.pop(0)
        return None

    async def _open(self, user: str) -> None:
        try:
            room = await self.rooms.direct_room(user, urgent=False)
            log.info("invited %s to a direct room ahead of any page (%s)", user, room)
        except DeliveryFailure as failure:
            if failure.permanent:
                self._refused.add(user)
                log.warning("could not open a direct room with %s ahead of time (%s): their first page will",
                            user, failure.reason)
            else:
                self._next_at = max(self._next_at, self.clock() + (failure.retry_after_s or self.every_s))
                log.info("could not open a direct room with %s yet (%s); trying again", user, failure.reason)
        except Exception:  # the next sweep tries again; nothing here may stop the sweep's other work
            log.exception("opening a direct room with %s ahead of time failed", user)
        finally:
            self._opening = None
            self.rearm()

    async def opened(self) -> None:
        """Until the room being opened, if any, is: how the component tests let it finish before they look."""
        if self._opening is not None:
            await asyncio.gather(self._opening, return_exceptions=True)

    async def close(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            await asyncio.gather(self._opening, return_exceptions=True)

    # --- a first join (from the acting instance's sync batches) -------------------------------------------------------
    def on_memberships(self, memberships: Iterable[Membership]) -> None:
        if not self.enabled:
            return
        for change in memberships:
            if change.membership != "join" or change.previous == "join" or change.user_id == self.bot_user:
                continue
            if self.store.direct_rooms.get(change.user_id) != change.room_id:
                continue
            cause = f"first-join:{change.room_id}"
            if self.store.outbox.status_of(txn_id(cause, 0)) is not None:
                continue  # this join was met before (a batch handled again after a restart)
            self._joined(change.user_id, change.room_id, cause)

    def _joined(self, user: str, room: str, cause: str) -> None:
        with self.store.transaction():
            effects = self.remind_joined(user)
            if not effects:
                opened = self.store.direct_rooms.created_at(user) or 0.0
                if self.store.outbox.paged_since(user, opened):
                    return  # their page comes after the join, or was answered: nothing to add
                if user not in self.people():
                    return  # the welcome speaks of their pages: someone on no roster has none
                effects = [SendUser(user, t("trust.welcome", self.lang))]
            self.queue(effects, cause)
        log.info("%s joined their direct room: %s", user,
                 "welcomed" if isinstance(effects[0], SendUser) else "their waiting pages sent again")
