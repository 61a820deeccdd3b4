"""The nio boundary: login and restore, the E2EE store, the sync loop, sending. Every Matrix call lives here.

The pitfalls nio bots are known for are handled in this file:
- the same device and crypto store across restarts (credentials kept 0600, pickle key from a secret);
- our own sync position: nio stores its token before callbacks run, so we advance ours only after the caller has
  recorded the events of a batch (see `on_batch`), and a crash between the two replays the batch, not loses it;
- the first sync after a restore asks for full state; nothing is sent before the first sync has loaded the rooms;
- a limited timeline (a gap after an outage) is filled from /messages;
- bounded, backed-off retries with jitter; an unreachable homeserver shows in the log and in `health`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    ReactionEvent,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from bot.crosssign import CrossSigningStatus, ensure_cross_signing
from bot.device_trust import devices_for_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    """One event the bot may act on, stripped of nio types."""

    kind: str  # "message" | "reaction" | "undecryptable"
    event_id: str
    room_id: str
    sender: str
    origin_ts: int
    body: str = ""
    reply_to: str | None = None  # m.in_reply_to event id
    reacts_to: str | None = None  # for reactions
    key: str = ""  # reaction key, e.g. "✅"
    source: dict[str, Any] = field(default_factory=dict)  # undecryptable: the encrypted event, for a later retry


@dataclass
class Health:
    homeserver: str = "starting"  # starting | ok | unreachable
    last_sync_at: float = 0.0
    consecutive_errors: int = 0
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "homeserver": self.homeserver,
            "last_sync_at": self.last_sync_at,
            "consecutive_errors": self.consecutive_errors,
            "last_error": self.last_error,
        }


ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


class SendFailed(Exception):
    pass


class NoTrustedDevice(SendFailed):
    """In `cross-signed` mode the recipient has no device their owner cross-signed: nothing is sent to them."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"{user_id} has no cross-signed device")
        self.user_id = user_id


def backoff(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter, so many clients do not hammer a recovering homeserver in step."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(0, attempt)))


def write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


BatchHandler = Callable[[list[Incoming], str, bool], Awaitable[None]]


class Matrix:
    def __init__(
        self,
        homeserver: str,
        user_id: str,
        state_dir: Path,
        pickle_key: str,
        device_name: str = "jourbot",
        sync_timeout_s: int = 30,
        request_timeout_s: int = 20,
    ) -> None:
        self.homeserver = homeserver
        self.user_id = user_id
        self.state_dir = state_dir
        self.crypto_dir = state_dir / "crypto"
        self.credentials_path = state_dir / "credentials.json"
        self.device_name = device_name
        self.sync_timeout_ms = sync_timeout_s * 1000
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.crypto_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(state_dir, 0o700)
        os.chmod(self.crypto_dir, 0o700)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,  # ours is in the database, advanced only after events are recorded
            pickle_key=pickle_key,
            max_limit_exceeded=3,
            max_timeouts=2,
            backoff_factor=0.5,
            max_timeout_retry_wait_time=10,
            request_timeout=request_timeout_s,
        )
        self.client = AsyncClient(homeserver, user_id, store_path=str(self.crypto_dir), config=config)
        self.health = Health()
        self.ready = asyncio.Event()  # set once the first sync has loaded the rooms
        self._room_seen: dict[str, asyncio.Event] = {}
        self.allowed_inviters: list[str] = []
        self.trust: str = "tofu"
        self._shared_for: dict[str, set[tuple[str, str]]] = {}  # room → devices known when its key was shared
        self.on_recovered: Callable[[], None] | None = None  # the homeserver answers again after an outage

    # --- login ---------------------------------------------------------------------------------------------------
    @property
    def device_id(self) -> str:
        return str(self.client.device_id or "")

    @property
    def access_token(self) -> str:
        return str(self.client.access_token or "")

    async def login(self, password: str) -> bool:
        """Restore the saved device if there is one; else log in with the password. True if restored."""
        if self.credentials_path.exists():
            saved = json.loads(self.credentials_path.read_text())
            if saved.get("user_id") == self.user_id and saved.get("homeserver") == self.homeserver:
                self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
                self._private_store_files()
                log.info("restored device %s", saved["device_id"])
                return True
        if not password:
            raise RuntimeError("no saved login and no password: set matrix.password, password_env or password_file")
        resp = await self.client.login(password=password, device_name=self.device_name)
        if not isinstance(resp, LoginResponse):
            raise RuntimeError(f"login failed: {getattr(resp, 'message', resp)}")
        write_private(
            self.credentials_path,
            json.dumps(
                {
                    "homeserver": self.homeserver,
                    "user_id": resp.user_id,
                    "device_id": resp.device_id,
                    "access_token": resp.access_token,
                }
            ),
        )
        self._private_store_files()
        log.info("logged in as new device %s", resp.device_id)
        return False

    async def cross_sign(self, password: str, key_file: Path, secret: str) -> CrossSigningStatus:
        """Cross-sign this device with the account's keys (made once, kept encrypted in `key_file`).

        Element (since April 2026) exchanges messages only with devices their owner has cross-signed; nio cannot
        do it itself. The device keys must be on the server before they can be signed.
        """
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        assert self.client.olm is not None
        status = await ensure_cross_signing(
            self.homeserver,
            self.access_token,
            self.user_id,
            self.device_id,
            password or None,
            key_file,
            secret,
            device_ed25519=self.client.olm.account.identity_keys["ed25519"],
        )
        log.info("cross-signing: device %s signed=%s, master key %s", self.device_id, status.device_signed,
                 status.master_fingerprint)
        return status

    def _private_store_files(self) -> None:
        for path in self.crypto_dir.iterdir():
            os.chmod(path, 0o600)

    async def close(self) -> None:
        await self.client.close()

    # --- sync ----------------------------------------------------------------------------------------------------
    async def sync_forever(self, since: str | None, on_batch: BatchHandler, stop: asyncio.Event) -> None:
        """Sync until `stop`; `on_batch(events, next_batch, first)` must record the events before it returns."""
        token = since
        first = True
        attempt = 0
        while not stop.is_set():
            try:
                resp = await self.client.sync(
                    timeout=0 if first else self.sync_timeout_ms,
                    since=token,
                    full_state=True if first else None,
                )
            except (TimeoutError, OSError, LocalProtocolError) as err:
                resp = err
            if not isinstance(resp, SyncResponse):
                attempt += 1
                self._sync_failed(str(getattr(resp, "message", resp) or type(resp).__name__), attempt)
                await _sleep_or_stop(stop, backoff(attempt))
                continue
            if attempt:
                log.warning("homeserver reachable again after %d failed syncs", attempt)
                if self.on_recovered is not None:
                    self.on_recovered()
            attempt = 0
            self.health.homeserver = "ok"
            self.health.consecutive_errors = 0
            self.health.last_sync_at = time.time()
            try:
                events = self._events_of(resp)
                if token is not None:
                    events += await self._fill_gaps(resp)
                self._handle_invites(resp)
                await self._keys_housekeeping()
                await on_batch(events, resp.next_batch, first)
            except Exception:
                # Our position is not advanced, so the same batch comes again: better twice (ids make it once)
                # than a dead sync loop.
                attempt += 1
                log.exception("handling a sync batch failed; it will be fetched again")
                await _sleep_or_stop(stop, backoff(attempt))
                continue
            token = resp.next_batch
            for room_id in resp.rooms.join:
                waiter = self._room_seen.get(room_id)
                if waiter:
                    waiter.set()
            if first:
                first = False
                self.ready.set()

    def _sync_failed(self, reason: str, attempt: int) -> None:
        self.health.consecutive_errors = attempt
        self.health.last_error = reason[:200]
        if attempt >= 2:
            self.health.homeserver = "unreachable"
        # Log the first failure and then sparsely, so an outage is visible without flooding the log.
        if attempt == 1 or attempt % 10 == 0:
            log.warning("sync failed (%d in a row): %s", attempt, reason[:200])

    async def _keys_housekeeping(self) -> None:
        try:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()
        except (TimeoutError, OSError, LocalProtocolError) as err:
            log.warning("key maintenance failed, will retry next sync: %s", err)

    def _events_of(self, resp: SyncResponse) -> list[Incoming]:
        out: list[Incoming] = []
        for room_id, info in resp.rooms.join.items():
            for event in info.timeline.events:
                incoming = self.convert(event, room_id)
                if incoming:
                    out.append(incoming)
        return out

    def convert(self, event: Any, room_id: str) -> Incoming | None:
        sender = getattr(event, "sender", "")
        if sender == self.user_id:
            return None  # the bot's own events never trigger commands
        ts = int(getattr(event, "server_timestamp", 0) or 0)
        if isinstance(event, RoomMessageText):
            relates = event.source.get("content", {}).get("m.relates_to", {}) or {}
            reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
            return Incoming("message", event.event_id, room_id, sender, ts, event.body, reply_to)
        if isinstance(event, ReactionEvent):
            return Incoming(
                "reaction", event.event_id, room_id, sender, ts, reacts_to=event.reacts_to, key=event.key,
            )
        if isinstance(event, MegolmEvent):
            source = dict(event.source)
            source.setdefault("room_id", room_id)
            return Incoming("undecryptable", event.event_id, room_id, sender, ts, source=source)
        return None

    async def _fill_gaps(self, resp: SyncResponse) -> list[Incoming]:
        """After an outage the homeserver may send only the newest events of a room; fetch the rest."""
        out: list[Incoming] = []
        for room_id, info in resp.rooms.join.items():
            if not info.timeline.limited or not info.timeline.prev_batch:
                continue
            log.info("timeline gap in %s; fetching missed events", room_id)
            oldest_wanted = (time.time() - 24 * 3600) * 1000
            start = info.timeline.prev_batch
            for _ in range(20):  # bounded: at most 20 pages of 50 events
                page = await self.client.room_messages(room_id, start=start, direction=MessageDirection.back, limit=50)
                if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                    break
                older = False
                for event in page.chunk:
                    incoming = self.convert(event, room_id)
                    if incoming:
                        out.append(incoming)
                    if getattr(event, "server_timestamp", 0) < oldest_wanted:
                        older = True
                if older or not page.end:
                    break
                start = page.end
        return out

    def _handle_invites(self, resp: SyncResponse) -> None:
        for room_id, info in resp.rooms.invite.items():
            inviter = next(
                (
                    e.sender
                    for e in info.invite_state
                    if isinstance(e, InviteMemberEvent) and e.state_key == self.user_id and e.membership == "invite"
                ),
                None,
            )
            if inviter and self._inviter_allowed(inviter):
                asyncio.get_running_loop().create_task(self._join(room_id, inviter))
            else:
                log.info("ignoring invitation to %s from %s", room_id, inviter)

    def _inviter_allowed(self, inviter: str) -> bool:
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        return any(entry == inviter or entry == f":{server}" for entry in self.allowed_inviters)

    async def _join(self, room_id: str, inviter: str) -> None:
        resp = await self.client.join(room_id)
        if isinstance(resp, JoinError):
            log.warning("could not join %s: %s", room_id, resp.message)
        else:
            log.info("joined %s on invitation from %s", room_id, inviter)

    # --- undecryptable events -----------------------------------------------------------------------------------
    async def request_key(self, source: dict[str, Any]) -> None:
        event = MegolmEvent.from_dict(source)
        event.room_id = source.get("room_id", "")
        try:
            await self.client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested

    def try_decrypt(self, source: dict[str, Any]) -> Incoming | None:
        event = MegolmEvent.from_dict(source)
        event.room_id = source.get("room_id", "")
        try:
            decrypted = self.client.decrypt_event(event)
        except Exception:
            return None
        return self.convert(decrypted, event.room_id)

    # --- rooms and sending ---------------------------------------------------------------------------------------
    def room_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted)

    def room_members(self, room_id: str) -> set[str]:
        room = self.client.rooms.get(room_id)
        return set(room.users) if room else set()

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        txn_id: str,
        event_type: str = "m.room.message",
        must_reach: str | None = None,
    ) -> str:
        """Send once; the same txn_id on a retry lets the homeserver drop a duplicate.

        `must_reach`: the message is meant for this user (a page); in `cross-signed` mode it is not sent at all unless
        they have a device their owner cross-signed.
        """
        await self.ready.wait()
        if room_id not in self.client.rooms:
            raise SendFailed(f"not in room {room_id}")
        if self.trust == "cross-signed" and self.room_encrypted(room_id):
            eligible = await self.apply_trust(room_id)
            if must_reach and not eligible.get(must_reach):
                raise NoTrustedDevice(must_reach)
        try:
            if self.room_encrypted(room_id):
                await self._share_room_key(room_id, must_reach)
            resp = await self.client.room_send(
                room_id, event_type, content, tx_id=txn_id, ignore_unverified_devices=True
            )
        except SendFailed:
            raise
        except Exception as err:  # nio's connection, SendRetryError and crypto errors: all retried by the outbox
            raise SendFailed(f"{type(err).__name__}: {err}") from err
        if not isinstance(resp, RoomSendResponse):
            raise SendFailed(str(getattr(resp, "message", resp)))
        return str(resp.event_id)

    async def _share_room_key(self, room_id: str, recipient: str | None = None) -> None:
        """Share the room key ourselves and check every device got it before any message uses it.

        nio marks a room key as shared even when the to-device messages carrying it failed (an outage). A message
        encrypted with it would be unreadable, and a retry with the same transaction id would not help: the
        homeserver keeps the first ciphertext. So a key that did not reach everyone is dropped before it is used.
        """
        olm = self.client.olm
        assert olm is not None
        room = self.client.rooms[room_id]
        # What nio's room_send does before sharing: know every member and every member's devices.
        if not room.members_synced:
            await self.client.joined_members(room_id)
        if recipient and not list(self.client.device_store.active_user_devices(recipient)):
            # A direct room made a moment ago: nio may not have asked for the recipient's devices yet, and a key
            # shared without them would make the page unreadable for them.
            olm.users_for_key_query.add(recipient)
        if self.client.should_query_keys:
            await self.client.keys_query()
        if recipient and not list(self.client.device_store.active_user_devices(recipient)):
            raise SendFailed(f"no devices of {recipient} known yet")
        devices = {(user, d.id) for user in room.users for d in self.client.device_store.active_user_devices(user)}
        if devices - self._shared_for.get(room_id, devices):
            # Someone has a device that appeared after the key was shared (a new phone): nio would keep using the
            # old key, which that device never got.
            olm.outbound_group_sessions.pop(room_id, None)
        if not olm.should_share_group_session(room_id):
            return
        self._shared_for[room_id] = devices
        missing = self.client.get_missing_sessions(room_id)
        if missing:
            # nio would claim these inside share_group_session too; doing it first lets `expected` include them.
            await self.client.keys_claim(missing)
        expected = {
            (user, device.id)
            for user in room.users
            for device in self.client.device_store.active_user_devices(user)
            if not olm.is_device_blacklisted(device) and not (user == self.user_id and device.id == self.device_id)
            and olm.session_store.get(device.curve25519)
        }
        resp = await self.client.share_group_session(room_id, ignore_unverified_devices=True)
        missed = expected - set(getattr(resp, "users_shared_with", set()))
        if missed:
            olm.outbound_group_sessions.pop(room_id, None)
            raise SendFailed(f"room key did not reach {len(missed)} device(s); a new key will be made")

    async def create_direct_room(self, user_id: str, timeout: float = 30.0) -> str:
        """An encrypted direct room with `user_id`; returns once the bot's client knows the room."""
        await self.ready.wait()
        try:
            resp = await self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.trusted_private_chat,
                initial_state=[ENCRYPTION_STATE],
            )
        except (TimeoutError, OSError, LocalProtocolError) as err:
            raise SendFailed(f"could not create a direct room with {user_id}: {type(err).__name__}: {err}") from err
        if not isinstance(resp, RoomCreateResponse):
            raise SendFailed(f"could not create a direct room with {user_id}: {getattr(resp, 'message', resp)}")
        waiter = self._room_seen.setdefault(resp.room_id, asyncio.Event())
        if resp.room_id not in self.client.rooms:
            try:
                await asyncio.wait_for(waiter.wait(), timeout)
            except TimeoutError as err:
                raise SendFailed(f"direct room {resp.room_id} not synced yet") from err
        await self._mark_direct(user_id, resp.room_id)
        return str(resp.room_id)

    async def _mark_direct(self, user_id: str, room_id: str) -> None:
        """Record the room in m.direct, so clients show it as a direct chat."""
        path = f"/_matrix/client/v3/user/{self.user_id}/account_data/m.direct"
        try:
            current: dict[str, list[str]] = {}
            resp = await self.client.send("GET", path, headers={"Authorization": f"Bearer {self.access_token}"})
            if resp.status == 200:
                current = await resp.json()
            rooms = current.setdefault(user_id, [])
            if room_id not in rooms:
                rooms.append(room_id)
            await self.client.send(
                "PUT",
                path,
                json.dumps(current),
                headers={"Authorization": f"Bearer {self.access_token}", "Content-Type": "application/json"},
            )
        except (TimeoutError, OSError) as err:
            log.info("could not update m.direct: %s", err)

    async def apply_trust(self, room_id: str) -> dict[str, set[str]]:
        """Withhold room keys from every device in the room that its owner has not cross-signed.

        nio shares keys with every non-blacklisted device, so uncross-signed devices are blacklisted in its store;
        when that set changes, the room's outbound session is dropped so no key already shared lives on.
        Signatures are verified here from /keys/query, not taken from the homeserver's word.
        """
        room = self.client.rooms[room_id]
        users = sorted(room.users)
        query = await self._raw_keys_query(users)
        eligible: dict[str, set[str]] = {}
        changed = False
        olm = self.client.olm
        assert olm is not None
        for user in users:
            ok = devices_for_policy("cross-signed", query, user)
            eligible[user] = ok
            for device in self.client.device_store.active_user_devices(user):
                if user == self.user_id and device.id == self.device_id:
                    continue
                blacklisted = olm.is_device_blacklisted(device)
                if device.id not in ok and not blacklisted:
                    self.client.blacklist_device(device)
                    changed = True
                elif device.id in ok and blacklisted:
                    self.client.unblacklist_device(device)
                    changed = True
        if changed:
            olm.outbound_group_sessions.pop(room_id, None)
        return eligible

    async def _raw_keys_query(self, users: list[str]) -> dict[str, Any]:
        resp = await self.client.send(
            "POST",
            "/_matrix/client/v3/keys/query",
            json.dumps({"device_keys": {u: [] for u in users}}),
            headers={"Authorization": f"Bearer {self.access_token}", "Content-Type": "application/json"},
        )
        if resp.status != 200:
            raise SendFailed(f"keys/query answered {resp.status}")
        return dict(await resp.json())


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
