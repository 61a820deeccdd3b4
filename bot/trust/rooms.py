"""The rooms the bot owns: each person's direct room and each alarm room.

They are made so that only the bot can invite, remove or change anything (bot/matrix/client.py), but a room can still
hold someone it is not for: a direct room made the old way (its person could invite a colleague), a homeserver
administrator's doing. So:
- whoever is in such a room and not among those it is for is removed at once, and the room's people and the
  supervisors are told;
- nothing is sent into a room while such a stranger is in it (bot/matrix/client.py refuses; ordinary messages wait
  for the removal), and a page does not wait: it goes by a fresh direct room;
- a direct room that is not the bot's alone (someone else could invite or change it) is replaced by a fresh one with
  a line saying why — at start for every room made the old way, and whenever one is found.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.core.effects import Effect, Mention, SendUser
from bot.core.i18n import t
from bot.matrix.port import DeliveryFailure, MatrixPort, Membership, backoff
from bot.store import Store

log = logging.getLogger(__name__)

Queue = Callable[[list[Effect], str], None]
ENTERING = ("join", "invite", "knock")
KICK_ATTEMPTS = 8


@dataclass(frozen=True)
class AlarmPeople:
    """Who an alarm room is for, besides those the bot let in later (`!anslut`)."""

    alarm_id: str
    officer: str
    acceptors: tuple[str, ...]  # everyone who took it: two who go out together, one who handed it on


class RoomGuard:
    def __init__(self, store: Store, matrix: MatrixPort, queue: Queue, supervisors: Callable[[], set[str]],
                 name_of: Callable[[str], str], alarm_people: Callable[[str], AlarmPeople | None],
                 clock: Callable[[], float], lang: str, bot_user: str) -> None:
        self.bot_user = bot_user
        self.store = store
        self.matrix = matrix
        self.queue = queue
        self.supervisors = supervisors
        self.name_of = name_of
        self.alarm_people = alarm_people
        self.clock = clock
        self.lang = lang
        self._locks: dict[str, asyncio.Lock] = {}
        self._removing: dict[tuple[str, str], asyncio.Task[None]] = {}

    # --- whom a room is for --------------------------------------------------------------------------------------
    def audience_of(self, room_id: str) -> frozenset[str] | None:
        """The people a room of the bot's own is for; None for a room it does not own (a police or unit room)."""
        user = self.store.direct_rooms.user_of(room_id)
        if user is not None:
            return frozenset({user})
        alarm_id = self.store.alarm_rooms.alarm_of(room_id)
        if alarm_id is None:
            return None
        people = self.alarm_people(alarm_id)
        base = set() if people is None else {people.officer, *people.acceptors}
        return frozenset(base | self.store.identities.admitted(room_id))

    def admit(self, room_id: str, user_id: str) -> None:
        """The bot is about to invite `user_id` (inside the caller's transaction)."""
        self.store.identities.admit(room_id, user_id, self.clock())

    # --- strangers -----------------------------------------------------------------------------------------------
    def on_memberships(self, memberships: Iterable[Membership]) -> None:
        for change in memberships:
            if change.membership not in ENTERING:
                continue
            audience = self.audience_of(change.room_id)
            if audience is None or change.user_id in audience or change.user_id == self.bot_user:
                continue
            key = (change.room_id, change.user_id)
            if key in self._removing and not self._removing[key].done():
                continue
            self._removing[key] = asyncio.get_running_loop().create_task(
                self._remove(change.room_id, change.user_id, audience), name=f"remove {change.user_id}")

    async def _remove(self, room_id: str, stranger: str, audience: frozenset[str]) -> None:
        removed = False
        for attempt in range(1, KICK_ATTEMPTS + 1):
            try:
                await self.matrix.kick(room_id, stranger, t("trust.kick_reason", self.lang))
                removed = True
                break
            except DeliveryFailure as failure:
                if failure.permanent:
                    log.warning("could not remove %s from %s: %s", stranger, room_id, failure.reason)
                    break
                await asyncio.sleep(backoff(attempt, 0.5, 10.0))
        log.warning("%s was in room %s, which is not for them; %s", stranger, room_id,
                    "removed" if removed else "NOT removed")
        self._tell(room_id, stranger, audience, removed)

    def _tell(self, room_id: str, stranger: str, audience: frozenset[str], removed: bool) -> None:
        alarm_id = self.store.alarm_rooms.alarm_of(room_id)
        owner = next(iter(audience)) if alarm_id is None and len(audience) == 1 else None
        where = (t("trust.where_alarm_room", self.lang, id=alarm_id) if alarm_id is not None else
                 t("trust.where_direct_room", self.lang, name=self.name_of(owner or "")))
        keys = (("trust.stranger_removed_person", "trust.stranger_removed_supervisor") if removed else
                ("trust.stranger_not_removed_person", "trust.stranger_not_removed_supervisor"))
        to_people = t(keys[0], self.lang, stranger=stranger, where=where)
        to_supervisors = t(keys[1], self.lang, stranger=stranger, where=where)
        effects: list[Effect] = [SendUser(person, to_people) for person in sorted(audience)]
        effects += [SendUser(s, to_supervisors, (Mention(s, self.name_of(s)),))
                    for s in sorted(self.supervisors() - audience)]
        with self.store.transaction():
            self.store.audit.append("guard", "room.stranger_removed" if removed else "room.stranger_stays", room_id,
                                    {"user": stranger})
            self.queue(effects, f"stranger:{room_id}:{stranger}:{int(self.clock() * 1000)}")

    # --- direct rooms --------------------------------------------------------------------------------------------
    async def direct_room(self, user_id: str, urgent: bool) -> str:
        """The room to write to `user_id` in: their direct room while it is sound; a fresh one when it is not the
        bot's alone, or when it holds a stranger and the message is `urgent` (a page). A stranger who is being
        removed makes anything else wait (DeliveryFailure "stranger", tried again)."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            room = self.store.direct_rooms.get(user_id)
            reason = ""
            if room is not None and self.matrix.direct_room_usable(room, user_id):
                check = self.matrix.room_check(room, frozenset({user_id}))
                if check.sound:
                    return room
                if check.strangers and not check.flaws and not urgent and self._being_removed(room, check.strangers):
                    raise DeliveryFailure("stranger", f"waiting for a stranger to be removed from {room}")
                reason = "trust.direct_replaced_stranger" if check.strangers else "trust.direct_replaced_not_owned"
            fresh = await self.matrix.create_direct_room(user_id)
            with self.store.transaction():
                self.store.direct_rooms.set(user_id, fresh)
                if reason:
                    self.store.audit.append("guard", "room.direct_replaced", fresh, {"user": user_id,
                                                                                    "old": room or ""})
                    # Queued after whatever is being sent now: the page first, then why it came here.
                    self.queue([SendUser(user_id, t(reason, self.lang))], f"replaced:{fresh}")
            if room is not None and reason:
                asyncio.get_running_loop().create_task(self._leave(room), name=f"leave {room}")
            return fresh

    def _being_removed(self, room_id: str, strangers: Iterable[str]) -> bool:
        """Whether every stranger in the room is on the way out (a removal still trying)."""
        return all((task := self._removing.get((room_id, user))) is not None and not task.done() for user in strangers)

    async def _leave(self, room_id: str) -> None:
        try:
            await self.matrix.leave_room(room_id)
        except DeliveryFailure as failure:
            log.info("could not leave the old direct room %s: %s", room_id, failure.reason)

    async def replace_old_rooms(self) -> None:
        """At start: every direct room that is not the bot's alone (made before rooms were, or changed since) is
        replaced, so no page ever goes into one."""
        for user_id, room in self.store.direct_rooms.all().items():
            if not self.matrix.direct_room_usable(room, user_id):
                continue  # the person left it: a fresh one is made at the next message anyway
            if self.matrix.room_check(room, frozenset({user_id})).sound:
                continue
            try:
                await self.direct_room(user_id, urgent=True)
            except DeliveryFailure as failure:
                log.warning("could not replace the direct room of %s yet (%s); the next message will",
                            user_id, failure.reason)

    async def close(self) -> None:
        tasks = [t for t in self._removing.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
