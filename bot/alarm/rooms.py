"""The alarm room: on acceptance an encrypted room with the officer who raised the alarm and the acceptor, where they
coordinate (address, door code, meeting point). The bot posts the alarm's facts there once, invites a supervisor who
asks, and on close says so and leaves. What people write there is not a command, so it is never stored.

Everything the bot does in the room goes through the outbox as rows for the target ("alarm", alarm id): the room is
made by the first of them, the way a direct room is made by the first message to a person, so creation is retried
like any send, survives a restart, and the farewell is always sent before the bot leaves.

Where the homeserver refuses the room for good (room creation forbidden, an invite refused), the bot falls back to
relaying (README, "The alarm room"): the officer and the acceptor are told to write to each other with `!till`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bot.alarm.machine import Alarm
from bot.channels.channel import HOMESERVER
from bot.core.effects import Effect, SendRoom, SendUser
from bot.core.i18n import t
from bot.matrix.content import content_for
from bot.matrix.port import DeliveryFailure, MatrixPort
from bot.store import NewMessage, OutboxRow, Store
from bot.store.outbox import alarm_purpose
from rosters.wallclock import hhmm, zone_named

log = logging.getLogger(__name__)

TARGET = "alarm"
INVITE = "jourbot.invite"  # not Matrix event types: what the outbox row asks the room keeper to do
LEAVE = "jourbot.leave"
ALARM_PRIORITY = 1  # like other alarm traffic: after pages, before answers to other commands
DELIVER_WITHIN_S = 900.0


class Queue(Protocol):
    def __call__(self, effects: list[Effect], cause: str) -> None: ...


class AlarmRoomKeeper:
    lane = HOMESERVER  # a channel (bot/channels/channel.py) through the homeserver

    def __init__(self, store: Store, matrix: MatrixPort, alarms: Callable[[str], Alarm | None],
                 clock: Callable[[], float], lang: str, audience_of: Callable[[str], frozenset[str] | None],
                 queue: Queue) -> None:
        self.audience_of = audience_of  # whom the room is for: nothing is sent while anyone else is in it
        self.queue = queue
        self.store = store
        self.matrix = matrix
        self.alarms = alarms
        self.clock = clock
        self.lang = lang

    # --- inside the transaction of the alarm's change ------------------------------------------------------------
    def follow(self, alarm: Alarm, event: str) -> None:
        """The alarm service's changes: an acceptance opens the room, a close or a cancellation ends it."""
        if event == "accepted":
            self._add(alarm.id, [("m.room.message", content_for(self._facts(alarm)))], f"alarmroom:{alarm.id}:open")
        elif event in ("closed", "cancelled") and alarm.accepted_by is not None:
            state = self.store.alarm_rooms.state(alarm.id)
            if state is not None and not state[0]:
                self.store.alarm_rooms.close(alarm.id)  # relaying: no room to leave
                return
            when = hhmm(alarm.closed_at or alarm.cancelled_at or datetime.fromtimestamp(self.clock(), UTC),
                        zone_named(alarm.tz))
            key = "alarm.room.closed" if event == "closed" else "alarm.room.cancelled"
            farewell = content_for(t(key, self.lang, id=alarm.id, time=when))
            # Last in the transaction: the answer to the `!klar` typed in the room is queued after this change, and
            # must come before the farewell (the outbox keeps one order per alarm room, bot/channels/outbox.py).
            self.store.db.before_commit(lambda: self._add(alarm.id, [("m.room.message", farewell), (LEAVE, {})],
                                                          f"alarmroom:{alarm.id}:{event}"))

    def invite(self, alarm_id: str, user: str, cause: str) -> None:
        self._add(alarm_id, [(INVITE, {"user": user})], f"alarmroom:{alarm_id}:invite:{cause}")

    def _add(self, alarm_id: str, rows: list[tuple[str, dict[str, object]]], cause: str) -> None:
        deliver_by = self.clock() + DELIVER_WITHIN_S
        for index, (event_type, content) in enumerate(rows):
            self.store.outbox.add(NewMessage(TARGET, alarm_id, dict(content), alarm_purpose(alarm_id), ALARM_PRIORITY,
                                             deliver_by, event_type=event_type), cause, index)

    def _facts(self, alarm: Alarm) -> str:
        zone = zone_named(alarm.tz)
        return t("alarm.room.facts", self.lang, id=alarm.id, area=alarm.area_name, raised=hhmm(alarm.raised_at, zone),
                 officer=alarm.raised_by, name=alarm.accepted_name or alarm.accepted_by or "", unit=alarm.unit_name,
                 accepted=hhmm(alarm.accepted_at or alarm.raised_at, zone))

    # --- the outbox's delivery of a row for ("alarm", id) --------------------------------------------------------
    async def deliver(self, row: OutboxRow) -> str:
        alarm_id = row.target
        state = self.store.alarm_rooms.state(alarm_id)
        if state is not None and not state[0]:
            raise DeliveryFailure("room_gone", f"{alarm_id} has no room: relaying")
        if state is not None and not state[1]:
            raise DeliveryFailure("room_gone", f"the room of {alarm_id} is closed")
        room = state[0] if state is not None else await self._create(alarm_id)
        if row.event_type == LEAVE:
            await self.matrix.leave_room(room)
            with self.store.transaction():
                self.store.alarm_rooms.close(alarm_id)
                self.store.audit.append("outbox", "alarmroom.left", alarm_id)
            return "left"
        if row.event_type == INVITE:
            user = str(row.content.get("user", ""))
            with self.store.transaction():
                self.store.identities.admit(room, user, self.clock())  # before the join, which is then no stranger's
            try:
                await self.matrix.invite(room, user)
            except DeliveryFailure as failure:
                if failure.permanent:
                    log.warning("alarm %s: could not invite %s (%s)", alarm_id, user, failure.reason)
                    with self.store.transaction():
                        told = SendUser(user, t("alarm.room.invite_failed", self.lang, id=alarm_id), alarm=alarm_id)
                        self.queue([told], f"{row.txn_id}:invite-failed")
                raise
            with self.store.transaction():
                self.store.audit.append(user, "alarmroom.invited", alarm_id)
            return "invited"
        return await self.matrix.send(room, row.content, row.txn_id, audience=self.audience_of(room))

    async def _create(self, alarm_id: str) -> str:
        alarm = self.alarms(alarm_id)
        if alarm is None or alarm.accepted_by is None:
            raise DeliveryFailure("room_gone", f"{alarm_id} is gone or was never accepted")
        name = f"{alarm.id} {alarm.area_name} {hhmm(alarm.raised_at, zone_named(alarm.tz))}"
        people = list(dict.fromkeys([alarm.raised_by, alarm.accepted_by]))
        try:
            room = await self.matrix.create_alarm_room(name, people)
        except DeliveryFailure as failure:
            if failure.permanent:
                self._relay(alarm, failure.reason)
            raise
        with self.store.transaction():
            self.store.alarm_rooms.set(alarm_id, room)
            self.store.audit.append("outbox", "alarmroom.opened", alarm_id)
        log.info("alarm %s: room %s made", alarm_id, room)
        return room

    def _relay(self, alarm: Alarm, reason: str) -> None:
        """The room was refused for good: from now on the officer and the acceptor write through the bot."""
        log.warning("alarm %s: no alarm room (%s); relaying instead", alarm.id, reason)
        text = t("alarm.relay.started", self.lang, id=alarm.id)
        effects: list[Effect] = [SendRoom(alarm.police_room, text, alarm=alarm.id)]
        if alarm.accepted_by:
            effects.append(SendUser(alarm.accepted_by, text, alarm=alarm.id))
        with self.store.transaction():
            self.store.alarm_rooms.set_relay(alarm.id)
            self.store.audit.append("outbox", "alarmroom.refused", alarm.id, {"reason": reason})
            self.queue(effects, f"alarmroom:{alarm.id}:relay")
