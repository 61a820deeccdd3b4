"""An in-memory Matrix boundary (bot.matrix.port.MatrixPort) for the component tier, after maubot's TestBot.

It records what the bot would send, feeds events in as sync batches, and plays a homeserver's failures: down
altogether (transient), or refusing one room or person for good (413, 403, unknown user). Like a homeserver it drops
a repeated transaction id and answers with the first event id.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.matrix.port import (
    AdmitAll,
    Batch,
    BatchHandler,
    DeliveryFailure,
    Health,
    IdentityGate,
    Incoming,
    Membership,
    Receipt,
    RoomCheck,
    SenderDevice,
)
from bot.store.sync import Head

BOT = "@jourbot:localhost"
# What a message from a person's own verified phone looks like once decrypted: the default for what tests say.
TRUSTED = SenderDevice("PHONE", known=True, cross_signed=True, master_key=None)


@dataclass(frozen=True)
class Sent:
    room_id: str
    content: dict[str, Any]
    txn_id: str
    event_id: str
    must_reach: str | None
    at: float = 0.0  # time.perf_counter() when the "homeserver" accepted it
    device: str = "FAKEDEVICE"  # the bot's device that sent it (instances sharing a database are devices of their own)

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def msgtype(self) -> str:
        return str(self.content.get("msgtype", ""))

    @property
    def mentions(self) -> list[str]:
        return list(self.content.get("m.mentions", {}).get("user_ids", []))

    @property
    def text(self) -> str:
        """The body without the names a mention puts before it ("Anna A: …")."""
        return self.body.partition(": ")[2] if self.mentions else self.body

    @property
    def reply_to(self) -> str | None:
        return (self.content.get("m.relates_to", {}).get("m.in_reply_to") or {}).get("event_id")


@dataclass
class Room:
    encrypted: bool = True
    members: set[str] = field(default_factory=set)
    direct_with: str | None = None
    flaws: tuple[str, ...] = ()  # what would make a room of the bot's not its alone (e.g. "power:@x"), as tests set


class FakeMatrix:
    def __init__(self, user_id: str = BOT, send_delay: float = 0.0, device: str = "FAKEDEVICE") -> None:
        self.user_id = user_id
        self.device = device
        self.hang_after_accepting = False  # a send the homeserver took never returns: the bot dies before it knows
        self.send_delay = send_delay  # seconds each send takes, as a homeserver's round trip would
        self._ready = asyncio.Event()
        self._health = Health(homeserver="ok")
        self.rooms: dict[str, Room] = {}
        self.sent: list[Sent] = []
        self.attempts: list[tuple[str, str]] = []  # (room, txn id) of every send tried, failed ones too
        self.handed_out_asked: list[str] = []  # event ids the sender waited to see handed out (pages, ringing)
        self.echoes: asyncio.Event | None = None  # set: the bot's own sync shows what it sent only once this is set
        self.down = False  # every send fails as if the homeserver were unreachable
        self.refuse: dict[str, DeliveryFailure] = {}  # room id or user id → a failure every time
        self.unknown_users: set[str] = set()
        self.decryptable: dict[str, Incoming] = {}  # event id → what it decrypts to, once its key "arrives"
        self.key_requests: list[str] = []
        self.room_keys: dict[str, float] = {}  # the room keys the bot holds: session id → when last used
        self.room_key_drops: list[tuple[float, float]] = []
        self.prepared: list[str] = []  # direct rooms readied ahead of time
        self.direct_made: list[tuple[str, str]] = []  # (person, the bot's device) of every direct room made, in order
        self.hold_direct: dict[str, asyncio.Event] = {}  # person → making their direct room waits for this
        self.logins_again = 0
        self.room_names: dict[str, str] = {}  # alarm rooms made: room id → name
        self.refuse_rooms = False  # creating an alarm room fails for good (a homeserver that forbids it)
        self.left: list[str] = []
        self.kicked: list[tuple[str, str]] = []  # (room, user) removed by the bot
        self.unkickable: set[str] = set()  # users the homeserver will not let the bot remove (their power is higher)
        self.gate: IdentityGate = AdmitAll()
        self.master_keys: dict[str, str] = {}  # user → the cross-signing master key the "homeserver" lists
        self.refuse_invites: set[str] = set()  # users the homeserver will not let the bot invite
        self.display_names: dict[str, str] = {}  # user → the display name members of their rooms see
        self._on_session_lost: Callable[[], Awaitable[bool]] | None = None
        self._by_txn: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._batches: asyncio.Queue[tuple[Batch, asyncio.Future[None]]] = asyncio.Queue()
        self._on_recovered: Callable[[float], None] | None = None
        self.since: str | None = None
        self.missed: list[Incoming] = []  # events sent while the bot was down: the next first sync brings them
        self.heads: Mapping[str, Head] = {}

    # --- the port ------------------------------------------------------------------------------------------------
    @property
    def ready(self) -> asyncio.Event:
        return self._ready

    @property
    def health(self) -> Health:
        return self._health

    @property
    def device_id(self) -> str:
        return self.device

    def another_device(self, device: str) -> FakeMatrix:
        """A second device of the bot's account on the same homeserver (another instance, bot/ha/): the same rooms
        and what was sent in them, but its own sync, transaction ids and readiness."""
        other = FakeMatrix(self.user_id, self.send_delay, device)
        other.rooms, other.sent, other.attempts, other._ids = self.rooms, self.sent, self.attempts, self._ids
        other.room_names, other.display_names, other.master_keys = self.room_names, self.display_names, \
            self.master_keys
        other.direct_made = self.direct_made
        return other

    async def login(self, password: str) -> bool:
        return False

    async def cross_sign(self, password: str) -> None:
        return None

    async def login_again(self, password: str) -> None:
        self.logins_again += 1

    def set_on_session_lost(self, callback: Callable[[], Awaitable[bool]]) -> None:
        self._on_session_lost = callback

    async def sync_forever(self, since: str | None, heads: Mapping[str, Head], on_batch: BatchHandler,
                           stop: asyncio.Event) -> None:
        self.since, self.heads = since, heads
        # The first sync, as a real client's: no history, only what was sent since the bot's last position.
        missed, self.missed = self.missed, []
        await on_batch(Batch(missed, f"s{next(self._ids)}", {e.room_id: Head(e.event_id, e.origin_ts) for e in missed}))
        self._ready.set()
        stopping = asyncio.create_task(stop.wait())
        getting: asyncio.Task[tuple[Batch, asyncio.Future[None]]] | None = None
        try:
            while not stop.is_set():
                getting = asyncio.create_task(self._batches.get())
                done, _ = await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if getting not in done:
                    getting.cancel()
                    return
                batch, handled = getting.result()
                try:
                    await on_batch(batch)
                except Exception as err:
                    handled.set_exception(err)
                else:
                    handled.set_result(None)
        finally:
            stopping.cancel()
            if getting is not None and not getting.done():
                # Cancelled rather than stopped (the App cancels its tasks): a getter left behind would take the
                # next bot's batches from the shared queue.
                getting.cancel()

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str, must_reach: str | None = None,
                   audience: frozenset[str] | None = None) -> str:
        self.attempts.append((room_id, txn_id))
        await asyncio.sleep(self.send_delay)  # a real send yields to the loop; so does this one
        if self.down:
            raise DeliveryFailure("network", "homeserver unreachable (fake)")
        if audience is not None and room_id in self.rooms and self.room_check(room_id, audience).strangers:
            raise DeliveryFailure("stranger", f"a stranger is in {room_id} (fake)")
        if must_reach is not None and not self.gate.admits(must_reach, self.master_keys.get(must_reach)):
            raise DeliveryFailure("identity_changed", f"{must_reach}'s identity is not the pinned one (fake)")
        for key in (room_id, must_reach):
            if key is not None and key in self.refuse:
                raise self.refuse[key]
        if room_id not in self.rooms:
            raise DeliveryFailure("room_gone", f"not in room {room_id}")
        if txn_id in self._by_txn:
            return self._by_txn[txn_id]
        event_id = f"$sent{next(self._ids)}"
        self._by_txn[txn_id] = event_id
        self.sent.append(Sent(room_id, content, txn_id, event_id, must_reach, time.perf_counter(), self.device))
        if self.hang_after_accepting:
            await asyncio.Event().wait()
        return event_id

    async def handed_out(self, event_id: str, within: float) -> None:
        """At once (the fake's sends reach their readers when they return), unless a test holds `echoes` back."""
        self.handed_out_asked.append(event_id)
        if self.echoes is not None:
            try:
                await asyncio.wait_for(self.echoes.wait(), within)
            except TimeoutError:
                pass

    async def prepare_room(self, room_id: str, user_id: str) -> None:
        self.prepared.append(room_id)

    async def create_direct_room(self, user_id: str) -> str:
        await asyncio.sleep(0)
        if user_id in self.hold_direct:
            await self.hold_direct[user_id].wait()
        if self.down:
            raise DeliveryFailure("network", "homeserver unreachable (fake)")
        if user_id in self.unknown_users:
            raise DeliveryFailure("unknown_user", f"unknown user {user_id}")
        room_id = f"!dm{next(self._ids)}-{user_id.lstrip('@')}"
        self.rooms[room_id] = Room(True, {self.user_id, user_id}, direct_with=user_id)
        self.direct_made.append((user_id, self.device))
        return room_id

    async def create_alarm_room(self, name: str, invite: list[str]) -> str:
        await asyncio.sleep(0)
        if self.down:
            raise DeliveryFailure("network", "homeserver unreachable (fake)")
        if self.refuse_rooms:
            raise DeliveryFailure("forbidden", "room creation is not allowed (fake)")
        room_id = f"!alarm{next(self._ids)}:localhost"
        self.rooms[room_id] = Room(True, {self.user_id, *invite})
        self.room_names[room_id] = name
        return room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        if room_id not in self.rooms:
            raise DeliveryFailure("room_gone", f"not in room {room_id}")
        if user_id in self.refuse_invites:
            raise DeliveryFailure("forbidden", f"may not invite {user_id} (fake)")
        self.rooms[room_id].members.add(user_id)

    async def leave_room(self, room_id: str) -> None:
        self.rooms[room_id].members.discard(self.user_id)
        self.left.append(room_id)

    def direct_room_usable(self, room_id: str, user_id: str) -> bool:
        room = self.rooms.get(room_id)
        return bool(room and room.encrypted and user_id in room.members)

    def room_check(self, room_id: str, audience: frozenset[str]) -> RoomCheck:
        room = self.rooms.get(room_id)
        if room is None:
            return RoomCheck(flaws=("unknown",))
        strangers = tuple(sorted(room.members - audience - {self.user_id}))
        return RoomCheck(strangers, (() if room.encrypted else ("unencrypted",)) + room.flaws)

    async def kick(self, room_id: str, user_id: str, reason: str) -> None:
        await asyncio.sleep(0)
        if self.down:
            raise DeliveryFailure("network", "homeserver unreachable (fake)")
        if user_id in self.unkickable:
            raise DeliveryFailure("forbidden", f"may not remove {user_id} (fake)")
        self.rooms[room_id].members.discard(user_id)
        self.kicked.append((room_id, user_id))

    def set_identity_gate(self, gate: IdentityGate) -> None:
        self.gate = gate

    def room_known(self, room_id: str) -> bool:
        return room_id in self.rooms

    def room_encrypted(self, room_id: str) -> bool:
        room = self.rooms.get(room_id)
        return bool(room and room.encrypted)

    def display_name(self, user_id: str, room_id: str | None = None) -> str | None:
        return self.display_names.get(user_id)

    async def request_key(self, source: dict[str, Any]) -> None:
        self.key_requests.append(str(source.get("event_id", "")))

    async def try_decrypt(self, source: dict[str, Any]) -> Incoming | None:
        return self.decryptable.get(str(source.get("event_id", "")))

    def set_on_recovered(self, callback: Callable[[float], None]) -> None:
        self._on_recovered = callback

    def drop_room_keys(self, before: float, now: float) -> int:
        """Recorded: (before, now) of each call; the room keys tests give in `room_keys` (session id → last use)
        last used before `before` are dropped."""
        self.room_key_drops.append((before, now))
        dropped = [s for s, last in self.room_keys.items() if last < before]
        for session in dropped:
            del self.room_keys[session]
        return len(dropped)

    async def close(self) -> None:
        return None

    # --- what tests do -------------------------------------------------------------------------------------------
    def add_room(self, room_id: str, *members: str, encrypted: bool = True) -> str:
        self.rooms[room_id] = Room(encrypted, {self.user_id, *members})
        return room_id

    async def feed(self, *events: Incoming, next_batch: str | None = None) -> None:
        """One sync batch; returns once the bot has recorded and handled it (or raises what it raised)."""
        heads = {e.room_id: Head(e.event_id, e.origin_ts) for e in events}
        batch = Batch(list(events), next_batch or f"s{next(self._ids)}", heads)
        handled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._batches.put((batch, handled))
        await handled

    async def enter(self, room_id: str, user_id: str, membership: str = "join", sender: str | None = None,
                    previous: str = "") -> None:
        """`user_id` comes into `room_id` (joins, or is invited by `sender`; `previous`: their membership before, as
        "invite" when they accept an invitation); one sync batch carries it."""
        self.rooms[room_id].members.add(user_id)
        change = Membership(room_id, user_id, membership, sender or user_id, previous)
        batch = Batch([], f"s{next(self._ids)}", {}, [], [change])
        handled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._batches.put((batch, handled))
        await handled

    async def read(self, user_id: str, room_id: str, event_id: str, ts: float) -> None:
        """`user_id`'s client sends a public read receipt for `event_id`; one sync batch carries it."""
        batch = Batch([], f"s{next(self._ids)}", {}, [Receipt(room_id, user_id, event_id, ts)])
        handled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._batches.put((batch, handled))
        await handled

    def homeserver_back(self, down_s: float = 0.0) -> None:
        """The homeserver answers again: as a real client's, the sync that notices brings a batch (here empty)."""
        self.down = False
        if self._on_recovered is not None:
            self._on_recovered(down_s)
        batch = Batch([], f"s{next(self._ids)}", {})
        self._batches.put_nowait((batch, asyncio.get_running_loop().create_future()))

    def to_room(self, room_id: str) -> list[Sent]:
        return [s for s in self.sent if s.room_id == room_id]

    def to_user(self, user_id: str) -> list[Sent]:
        """What reached `user_id`'s direct room(s)."""
        rooms = {r for r, room in self.rooms.items() if room.direct_with == user_id}
        return [s for s in self.sent if s.room_id in rooms]

    def rings_for(self, user_id: str) -> list[Sent]:
        """Everything that makes `user_id`'s phone ring: m.text that mentions them, in any room."""
        return [s for s in self.sent if rings(s.content, user_id)]

    def pages_to(self, user_id: str) -> list[Sent]:
        """Pages: m.text messages in the reader's direct room that mention them (an m.notice would not ping) and
        say how to answer an alarm; reminders of a page are not counted (see `reminders_to`)."""
        return [s for s in self.to_user(user_id) if is_page(s.content, user_id) and not is_reminder(s.content)]

    def reminders_to(self, user_id: str) -> list[Sent]:
        """Pages repeated because their reader has not answered."""
        return [s for s in self.to_user(user_id) if is_page(s.content, user_id) and is_reminder(s.content)]


_ANSWER_LINE = re.compile(r"!nej L\d+")  # only a page (and its reminder) tells its reader how to decline


def rings(content: Mapping[str, Any], user_id: str) -> bool:
    return content.get("msgtype") == "m.text" and user_id in content.get("m.mentions", {}).get("user_ids", [])


def is_page(content: Mapping[str, Any], user_id: str) -> bool:
    return rings(content, user_id) and bool(_ANSWER_LINE.search(str(content.get("body", ""))))


def is_reminder(content: Mapping[str, Any]) -> bool:
    return "🔁" in str(content.get("body", "")).split("\n", 1)[0]
