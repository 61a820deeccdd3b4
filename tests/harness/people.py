"""Test users: real nio clients with E2EE, talking to the real Synapse of the test session."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
)

from tests.harness.fakematrix import is_page, is_reminder
from tests.harness.waits import until

ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


@dataclass(frozen=True)
class Received:
    room_id: str
    event_id: str
    sender: str
    body: str
    msgtype: str
    encrypted: bool
    content: dict[str, Any]

    @property
    def reply_to(self) -> str | None:
        return (self.content.get("m.relates_to", {}).get("m.in_reply_to") or {}).get("event_id")


class Person:
    # How long each /sync may wait for news (ms): short, so a test's client notices a stopped homeserver soon.
    sync_timeout_ms = 500

    def __init__(self, url: str, user_id: str, password: str, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True, store_sync_tokens=False, pickle_key="test-only", max_timeouts=2, request_timeout=10
        )
        self.user_id = user_id
        self.password = password
        self.client = AsyncClient(url, user_id, store_path=str(store), config=config)
        self.received: list[Received] = []
        self.undecryptable = 0
        self.unreadable: set[str] = set()  # ids of the events that reached this client but could not be decrypted
        self._task: asyncio.Task[None] | None = None
        self._new = asyncio.Event()
        self._shared_devices: dict[str, set[tuple[str, str, str]]] = {}

    async def start(self) -> None:
        resp = await self.client.login(self.password, device_name=f"test-{self.user_id}")
        assert isinstance(resp, LoginResponse), resp
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        await self.client.sync(timeout=0, full_state=True)
        # Only what arrives from now on counts: the history of earlier tests' rooms is not this test's business.
        self.client.add_event_callback(self._on_message, (RoomMessageText, RoomMessageNotice))
        self.client.add_event_callback(self._on_undecryptable, MegolmEvent)
        self._task = asyncio.create_task(self._sync_loop())

    async def _sync_loop(self) -> None:
        # Our own loop rather than nio's sync_forever: it must survive the homeserver being stopped in a test.
        while True:
            try:
                await self.client.sync(timeout=self.sync_timeout_ms)
                if self.client.should_upload_keys:
                    await self.client.keys_upload()
                if self.client.should_query_keys:
                    await self.client.keys_query()
                if self.client.should_claim_keys:
                    await self.client.keys_claim(self.client.get_users_for_key_claiming())
                await self.client.send_to_device_messages()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    async def _on_message(self, room: MatrixRoom, event: RoomMessageText | RoomMessageNotice) -> None:
        content = event.source.get("content", {})
        self.received.append(
            Received(
                room.room_id,
                event.event_id,
                event.sender,
                event.body,
                content.get("msgtype", ""),
                bool(getattr(event, "decrypted", False)),
                content,
            )
        )
        self._new.set()

    async def _on_undecryptable(self, room: MatrixRoom, event: Any) -> None:
        self.undecryptable += 1
        self.unreadable.add(event.event_id)
        self._new.set()

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def create_room(self, invite: list[str], encrypted: bool = True, name: str = "test") -> str:
        resp = await self.client.room_create(
            name=name, invite=invite, initial_state=[ENCRYPTION] if encrypted else []
        )
        assert isinstance(resp, RoomCreateResponse), resp
        await self.wait_until(lambda: resp.room_id in self.client.rooms, 10)
        return str(resp.room_id)

    def in_room(self, room_id: str) -> bool:
        """Whether this client has joined `room_id` (and not left it), as it sees it."""
        room = self.client.rooms.get(room_id)
        return bool(room and self.user_id in room.users and self.user_id not in room.invited_users)

    def has_received(self, event_id: str) -> bool:
        """Whether the event reached this client: as a message it read, or as one it could not decrypt."""
        return event_id in self.unreadable or any(m.event_id == event_id for m in self.received)

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 20) -> None:
        """Wait until `user_id` has joined `room_id`, as this client sees it."""

        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return bool(room and user_id in room.users and user_id not in room.invited_users)

        await self.wait_until(joined, timeout)

    async def send(self, room_id: str, body: str, reply_to: str | None = None, msgtype: str = "m.text") -> str:
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send_content(room_id, content)

    async def send_content(self, room_id: str, content: dict[str, Any]) -> str:
        """A message with whatever content a client would send (edits, reply fallbacks, HTML)."""
        await self.wait_until(lambda: room_id in self.client.rooms, 10)  # joined on invite, known after a sync
        await self._fresh_keys(room_id)
        resp = await self.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def react(self, room_id: str, event_id: str, key: str = "✅") -> str:
        """A reaction as Element sends it: encrypted in an encrypted room (nio would send it in the clear, which the
        bot does not act on), with the relation beside the ciphertext so the server can aggregate it."""
        content: dict[str, Any] = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        event_type = "m.reaction"
        room = self.client.rooms[room_id]
        if room.encrypted:
            await self._fresh_keys(room_id)
            if not room.members_synced:
                await self.client.joined_members(room_id)
            if self.client.olm is not None and self.client.olm.should_share_group_session(room_id):
                await self.client.share_group_session(room_id, ignore_unverified_devices=True)
            event_type, content = self.client.encrypt(room_id, "m.reaction", content)
        path = (f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/send/{event_type}/"
                f"react{uuid.uuid4().hex}")
        resp = await self.client.send("PUT", path, json.dumps(content),
                                      headers={"Authorization": f"Bearer {self.client.access_token}",
                                               "Content-Type": "application/json"})
        body = await resp.json()
        assert resp.status == 200, body
        return str(body["event_id"])

    async def read(self, room_id: str, event_id: str) -> None:
        """Mark `event_id` read with a public receipt (m.read) and the fully-read marker, as Element does."""
        resp = await self.client.room_read_markers(room_id, fully_read_event=event_id, read_event=event_id)
        assert type(resp).__name__ == "RoomReadMarkersResponse", resp

    async def _fresh_keys(self, room_id: str) -> None:
        # A bot that restarted kept its device; one that logged in anew has new keys we must learn before sending.
        if self.client.should_query_keys:
            await self.client.keys_query()
        # Like today's clients (Element's Rust crypto), a device that appeared in the room since our room key was
        # shared gets a key too: nio alone would go on with a key that device never had.
        room = self.client.rooms[room_id]
        devices = {(u, d.id, d.ed25519) for u in room.users for d in self.client.device_store.active_user_devices(u)}
        if self._shared_devices.get(room_id, devices) != devices and self.client.olm is not None:
            self.client.olm.outbound_group_sessions.pop(room_id, None)
        self._shared_devices[room_id] = devices

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        await until(predicate, timeout, f"{self.user_id}: the condition")

    async def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float = 20, start: int = 0
    ) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.received[start:]:
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                seen = [(m.sender, m.body[:80]) for m in self.received[start:]]
                raise AssertionError(f"{self.user_id}: no matching message within {timeout} s; saw {seen}")
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), 0.2)
            except TimeoutError:
                pass

    def pages(self, sender: str) -> list[Received]:
        """Messages from `sender` that page this person: m.text that mentions them (an m.notice does not ping) and
        says how to answer an alarm; a page's reminder is not counted (see `reminders`)."""
        return [m for m in self.received if m.sender == sender and is_page(m.content, self.user_id)
                and not is_reminder(m.content)]

    def reminders(self, sender: str) -> list[Received]:
        """Pages `sender` repeated because this person had not answered."""
        return [m for m in self.received if m.sender == sender and is_page(m.content, self.user_id)
                and is_reminder(m.content)]

    def from_sender(self, sender: str, room_id: str | None = None) -> list[Received]:
        return [m for m in self.received if m.sender == sender and (room_id is None or m.room_id == room_id)]
