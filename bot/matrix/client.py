"""The nio boundary: login and restore, the E2EE store, the sync loop, sending. Every nio call lives in bot/matrix/.

The pitfalls nio bots are known for are handled here:
- the same device and crypto store across restarts (credentials kept 0600, pickle key from a secret);
- our own sync position: nio stores its token before callbacks run, so the caller advances ours only after it has
  recorded a batch's events; a crash between the two replays the batch, not loses it;
- the first sync after a restore asks for full state; nothing is sent before the first sync has loaded the rooms;
- a limited timeline (a gap after an outage) is filled from /messages back to the last event the bot had seen, and
  only what lies after it is decrypted;
- bounded, backed-off retries with jitter; an unreachable homeserver shows in the log and in `health`;
- a refused send is classified (bot/matrix/port.py): transient failures are retried by the outbox, permanent ones not.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    Event,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    ReactionEvent,
    ReceiptEvent,
    RedactionEvent,
    RoomCreateResponse,
    RoomMemberEvent,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from bot.matrix.crosssign import CrossSigningStatus, ensure_cross_signing
from bot.matrix.cryptostore import CryptoStore
from bot.matrix.keyages import RoomKeyAges
from bot.matrix.keydirectory import KeyDirectory, raw_query
from bot.matrix.port import (
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
    SessionRevoked,
    backoff,
    failure_for_status,
)
from bot.matrix.reading import read_message
from bot.matrix.roomkeys import RoomKeys
from bot.store.cross_signing import OwnIdentity
from bot.store.files import write_private
from bot.store.sync import Head

log = logging.getLogger(__name__)

ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
# Rooms the bot makes (direct rooms, alarm rooms) are the bot's alone to change: whoever else is in them may talk, and
# nothing more. Only what people were invited to hear is visible to them: history from their invitation, which only
# the bot can make. ("joined" would hide the page, and an alarm room's facts, from whoever joins after they were sent,
# and the bot sends at once; nothing said before someone's invitation reaches them either way.)
HISTORY_INVITED = {"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "invited"}}
OWNER = 100
GUARDED_STATE = ("m.room.power_levels", "m.room.encryption", "m.room.join_rules", "m.room.history_visibility",
                 "m.room.name", "m.room.topic", "m.room.avatar", "m.room.tombstone", "m.room.server_acl",
                 "m.room.canonical_alias", "m.room.guest_access", "m.room.pinned_events")


def owned_power_levels(bot: str, creator_privileged: bool) -> dict[str, Any]:
    """Power levels of a room the bot makes: the bot alone may invite, remove, or change anything about the room.

    From room version 12 a room's creator stands above every power level and may not be listed among the users
    (MSC4289); before it, the creator holds power only by being listed."""
    return {
        "users": {} if creator_privileged else {bot: OWNER},
        "users_default": 0,
        "events_default": 0,
        "state_default": OWNER,
        "invite": OWNER,
        "kick": OWNER,
        "ban": OWNER,
        "redact": OWNER,
        "events": {event_type: OWNER for event_type in GUARDED_STATE},
        "notifications": {"room": OWNER},
    }
# How far back a gap is filled at most, when the bot has no event of that room to stop at.
GAP_LIMIT_S = 24 * 3600
# Up to this many events of a room in one sync response. The homeserver's default of 10 makes every busy sync
# "limited", and each limited room then costs a /messages round trip before its commands can be handled.
SYNC_TIMELINE_LIMIT = 100
ECHOES_KEPT = 256  # a burst of pages sends a few dozen; an echo is asked for within a second of its send
# Events from other servers carry their own clocks: an event this much older than the room's last seen one is
# taken as already seen even if its id was not met on the way back.
GAP_SKEW_S = 600
# While syncs fail, the homeserver is asked this often whether it is back, and given this long to say so.
PROBE_EVERY_S = 1.0
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    state_dir: Path
    pickle_key: str
    device_name: str = "jourbot"
    sync_timeout_s: int = 30
    request_timeout_s: int = 20
    trust: str = "tofu"
    allowed_inviters: tuple[str, ...] = ()


class MatrixClient:
    def __init__(self, settings: MatrixSettings, identity: OwnIdentity | None = None) -> None:
        self.settings = settings
        self.identity = identity  # the account's cross-signing keys, shared by every instance through the database
        self.user_id = settings.user_id
        self.crypto_dir = settings.state_dir / "crypto"
        self.credentials_path = settings.state_dir / "credentials.json"
        self.key_file = settings.state_dir / "cross-signing.keys"
        for folder in (settings.state_dir, self.crypto_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,  # ours is in the database, advanced only after events are recorded
            store=CryptoStore,
            pickle_key=settings.pickle_key,
            # nio retries nothing on our behalf: a request that times out or is refused comes back at once, and the
            # outbox and the sync loop retry with back-offs that end the moment the homeserver answers again. (nio's
            # own sleeps outlived outages: a page queued during one waited for them after the homeserver was back.)
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=settings.request_timeout_s,
        )
        self.client = AsyncClient(settings.homeserver, self.user_id, store_path=str(self.crypto_dir), config=config)
        self.key_ages = RoomKeyAges(self.crypto_dir / "room-key-ages.json")
        self.directory = KeyDirectory(raw_query(self.client.send, lambda: self.access_token))
        self.keys = RoomKeys(self.client, self.user_id, settings.trust, self.directory)
        self._health = Health()
        self._ready = asyncio.Event()
        self._room_seen: dict[str, asyncio.Event] = {}
        # The bot's own events its syncs have shown, newest last, for `handed_out`: the echo can come before the
        # sender, busy recording the send, asks for it.
        self._echoed: OrderedDict[str, None] = OrderedDict()
        self._echo_waiters: dict[str, asyncio.Event] = {}
        self._on_recovered: Callable[[float], None] | None = None
        self._on_session_lost: Callable[[], Awaitable[bool]] | None = None
        self._default_room_version: str | None = None
        self._claims: dict[str, _Claim] = {}  # event id → the session keys of a decrypted event, until authenticated
        self.gap_events_fetched = 0  # events fetched to fill timeline gaps since start; grows with gaps, not history

    @property
    def ready(self) -> asyncio.Event:
        return self._ready

    @property
    def health(self) -> Health:
        return self._health

    @property
    def device_id(self) -> str:
        return str(self.client.device_id or "")

    @property
    def access_token(self) -> str:
        return str(self.client.access_token or "")

    def set_on_recovered(self, callback: Callable[[float], None]) -> None:
        self._on_recovered = callback

    def set_on_session_lost(self, callback: Callable[[], Awaitable[bool]]) -> None:
        self._on_session_lost = callback

    def set_identity_gate(self, gate: IdentityGate) -> None:
        self.keys.gate = gate

    # --- login ---------------------------------------------------------------------------------------------------
    async def login(self, password: str) -> bool:
        """Restore the saved device if there is one; else log in with the password. True if restored."""
        if self.credentials_path.exists():
            saved = json.loads(self.credentials_path.read_text())
            if saved.get("user_id") == self.user_id and saved.get("homeserver") == self.settings.homeserver:
                self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
                self._private_store_files()
                log.info("restored device %s", saved["device_id"])
                return True
        if not password:
            raise RuntimeError("no saved login and no password: set matrix.password, password_env or password_file")
        resp = await self.client.login(password=password, device_name=self.settings.device_name)
        if not isinstance(resp, LoginResponse):
            raise RuntimeError(f"login failed: {getattr(resp, 'message', resp)}")
        write_private(self.credentials_path, json.dumps({
            "homeserver": self.settings.homeserver,
            "user_id": resp.user_id,
            "device_id": resp.device_id,
            "access_token": resp.access_token,
        }))
        self._private_store_files()
        log.info("logged in as new device %s", resp.device_id)
        return False

    async def login_again(self, password: str) -> None:
        # A new device with a new olm account: the revoked one was deleted with its keys, and a device re-created
        # under the same id would look unchanged to other clients, which then never share their room keys with it.
        self.credentials_path.unlink(missing_ok=True)
        self.client.device_id = None
        self.client.store = None  # nio loads a store (and olm account) only when none is loaded
        self.client.olm = None
        self.keys.forget_shared()
        self.directory.clear()
        await self.login(password)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self.keys.devices_may_have_changed()

    async def cross_sign(self, password: str) -> None:
        """Cross-sign this device with the account's keys (made once, kept sealed in the database every instance
        shares, so each instance's device is signed by the same identity).

        Element (since April 2026) exchanges messages only with devices their owner has cross-signed; nio cannot
        do it itself. The device keys must be on the server before they can be signed.
        """
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        assert self.client.olm is not None
        status: CrossSigningStatus = await ensure_cross_signing(
            self.settings.homeserver,
            self.access_token,
            self.user_id,
            self.device_id,
            password or None,
            self.key_file,
            self.settings.pickle_key,
            device_ed25519=self.client.olm.account.identity_keys["ed25519"],
            identity=self.identity,
        )
        log.info("cross-signing: device %s signed=%s, master key %s (keys from %s)", self.device_id,
                 status.device_signed, status.master_fingerprint, status.keys_from)

    def drop_room_keys(self, before: float, now: float) -> int:
        """Forget the room keys last used before `before` (bot/matrix/keyages.py)."""
        if self.client.olm is None:
            return 0
        dropped = self.key_ages.drop(self.client.olm, self.client.store, before, now)
        if dropped:
            log.info("dropped %d room keys unused since before the retention period", len(dropped))
        return len(dropped)

    def _private_store_files(self) -> None:
        for path in self.crypto_dir.iterdir():
            os.chmod(path, 0o600)

    async def close(self) -> None:
        await self.client.close()

    # --- sync ----------------------------------------------------------------------------------------------------
    async def sync_forever(self, since: str | None, heads: Mapping[str, Head], on_batch: BatchHandler,
                           stop: asyncio.Event) -> None:
        token = since
        seen: dict[str, Head] = dict(heads)
        first = True
        attempt = 0
        while not stop.is_set():
            try:
                resp = await self.client.sync(
                    # After failures, a sync that answers at once: the homeserver's return must be noticed now, not
                    # at the end of a long poll.
                    timeout=0 if first or attempt else self.settings.sync_timeout_s * 1000,
                    sync_filter={"room": {"timeline": {"limit": SYNC_TIMELINE_LIMIT}}},
                    since=token,
                    full_state=True if first else None,
                )
            except (TimeoutError, OSError, LocalProtocolError, aiohttp.ClientError) as err:
                resp = err
            if isinstance(resp, ErrorResponse) and resp.status_code == "M_UNKNOWN_TOKEN":
                log.error("the homeserver no longer accepts the bot's session (M_UNKNOWN_TOKEN)")
                self._health.homeserver = "session revoked"
                if self._on_session_lost is None or not await self._on_session_lost():
                    raise SessionRevoked("the bot's session was revoked and it could not log in again")
                first = True  # a new device: load the rooms again before sending anything
                continue
            if not isinstance(resp, SyncResponse):
                attempt += 1
                self._sync_failed(str(getattr(resp, "message", resp) or type(resp).__name__), attempt)
                await self._until_back_or(stop, backoff(attempt))
                continue
            if attempt:
                down_s = max(0.0, time.time() - self._health.last_sync_at) if self._health.last_sync_at else 0.0
                log.warning("homeserver reachable again after %d failed syncs (%.0f s)", attempt, down_s)
                if self._on_recovered is not None:
                    self._on_recovered(down_s)
            attempt = 0
            self._health.homeserver = "ok"
            self._health.consecutive_errors = 0
            self._health.last_sync_at = time.time()
            self._health.answered(self._health.last_sync_at)
            self._note_echoes(resp)
            try:
                if resp.device_list.changed:
                    self.directory.invalidate(resp.device_list.changed)
                events = self._events_of(resp)
                if token is not None:
                    events += await self._fill_gaps(resp, seen)
                events = await self._authenticate(events)
                self._handle_invites(resp)
                memberships = self._memberships_of(resp)
                if resp.device_list.changed or memberships:
                    self.keys.devices_may_have_changed()
                new_heads = dict(seen)
                new_heads.update(self._heads_of(resp))
                await on_batch(Batch(events, resp.next_batch, new_heads, self._receipts_of(resp), memberships))
                # After the batch, not before: a key query or claim pending must not hold up a `!larm` it carries.
                await self._keys_housekeeping()
            except Exception:
                # Our position is not advanced, so the same batch comes again: better twice (ids make it once)
                # than a dead sync loop.
                attempt += 1
                log.exception("handling a sync batch failed; it will be fetched again")
                await _sleep_or_stop(stop, backoff(attempt))
                continue
            token = resp.next_batch
            seen = new_heads
            for room_id in resp.rooms.join:
                waiter = self._room_seen.get(room_id)
                if waiter:
                    waiter.set()
            if first:
                first = False
                self._ready.set()

    def _note_echoes(self, resp: SyncResponse) -> None:
        for info in resp.rooms.join.values():
            for event in info.timeline.events:
                event_id = getattr(event, "event_id", None)
                if getattr(event, "sender", None) != self.user_id or not event_id:
                    continue
                self._echoed[event_id] = None
                waiter = self._echo_waiters.get(event_id)
                if waiter is not None:
                    waiter.set()
        while len(self._echoed) > ECHOES_KEPT:
            self._echoed.popitem(last=False)

    async def handed_out(self, event_id: str, within: float) -> None:
        if event_id in self._echoed:
            return
        waiter = self._echo_waiters.setdefault(event_id, asyncio.Event())
        try:
            await asyncio.wait_for(waiter.wait(), within)
        except TimeoutError:
            pass
        finally:
            self._echo_waiters.pop(event_id, None)

    async def _until_back_or(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait out a sync's back-off, but no longer than the homeserver takes to answer a probe: the back-off
        protects a struggling homeserver, and must never keep the bot away from one that is back."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            if await self._probe():
                return
            await _sleep_or_stop(stop, min(PROBE_EVERY_S, max(0.0, deadline - time.monotonic())))

    async def _probe(self) -> bool:
        """One cheap request the homeserver answers without a session (GET /versions); True if it did."""
        try:
            resp = await self.client.send("GET", "/_matrix/client/versions", timeout=PROBE_TIMEOUT_S)
            ok = bool(resp.status == 200)
            resp.release()
        except (TimeoutError, OSError, aiohttp.ClientError):
            return False
        if ok:
            self._health.answered(time.time())
        return ok

    def _sync_failed(self, reason: str, attempt: int) -> None:
        self._health.consecutive_errors = attempt
        self._health.last_error = reason[:200]
        self._health.homeserver = "unreachable"
        # Log the first failure and then sparsely, so an outage is visible without flooding the log.
        if attempt == 1 or attempt % 10 == 0:
            log.warning("sync failed (%d in a row): %s", attempt, reason[:200])

    async def _keys_housekeeping(self) -> None:
        async with self.keys.lock:
            try:
                if self.client.should_upload_keys:
                    await self.client.keys_upload()
                if self.client.should_query_keys:
                    await self.client.keys_query()
                if self.client.should_claim_keys:
                    await self.client.keys_claim(self.client.get_users_for_key_claiming())
                await self.client.send_to_device_messages()
            except (TimeoutError, OSError, LocalProtocolError, aiohttp.ClientError) as err:
                log.warning("key maintenance failed, will retry next sync: %s", err)

    def _events_of(self, resp: SyncResponse) -> list[Incoming]:
        out: list[Incoming] = []
        for room_id, info in resp.rooms.join.items():
            room_events: list[Incoming] = []
            for event in info.timeline.events:
                if self._is_own_join(getattr(event, "source", {})):
                    # A join's sync carries some history: what was said before the bot came is not for it, and it
                    # could not decrypt it anyway.
                    room_events.clear()
                    continue
                incoming = self.convert(event, room_id)
                if incoming:
                    room_events.append(incoming)
            out.extend(room_events)
        return out

    def _receipts_of(self, resp: SyncResponse) -> list[Receipt]:
        """Others' public read receipts. Element may send m.read.private instead, which only its sender sees."""
        out: list[Receipt] = []
        for room_id, info in resp.rooms.join.items():
            for event in info.ephemeral:
                if not isinstance(event, ReceiptEvent):
                    continue
                out.extend(Receipt(room_id, r.user_id, r.event_id, r.timestamp / 1000) for r in event.receipts
                           if r.receipt_type == "m.read" and r.user_id != self.user_id)
        return out

    @staticmethod
    def _memberships_of(resp: SyncResponse) -> list[Membership]:
        out: list[Membership] = []
        for room_id, info in resp.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                if isinstance(event, RoomMemberEvent):
                    out.append(Membership(room_id, str(event.state_key), str(event.membership), str(event.sender),
                                          str(event.prev_membership or "")))
        return out

    @staticmethod
    def _heads_of(resp: SyncResponse) -> dict[str, Head]:
        heads: dict[str, Head] = {}
        for room_id, info in resp.rooms.join.items():
            if info.timeline.events:
                last = info.timeline.events[-1]
                heads[room_id] = Head(str(last.event_id), int(getattr(last, "server_timestamp", 0) or 0))
        return heads

    def convert(self, event: Any, room_id: str) -> Incoming | None:
        """The event as the runtime sees it. A decrypted one's room-key session is noted, for `_authenticate` to
        find the device it came from before the batch is handed on."""
        sender = getattr(event, "sender", "")
        ts = int(getattr(event, "server_timestamp", 0) or 0)
        if getattr(event, "decrypted", False) and getattr(event, "session_id", None):
            self.key_ages.used(str(event.session_id), room_id, ts / 1000)  # how old its room key is, for the purge
        if sender == self.user_id:
            return None  # the bot's own events never trigger commands
        if getattr(event, "decrypted", False) and getattr(event, "event_id", None):
            self._claims[str(event.event_id)] = self._claim_of(event, room_id)
        if isinstance(event, RoomMessageText):
            reading = read_message(event.source.get("content") or {})
            return Incoming("message", event.event_id, room_id, sender, ts, reading.body, reading.reply_to,
                            replaces=reading.replaces)
        if isinstance(event, RedactionEvent):
            return Incoming("redaction", event.event_id, room_id, sender, ts, redacts=event.redacts)
        if isinstance(event, ReactionEvent):
            return Incoming("reaction", event.event_id, room_id, sender, ts, reacts_to=event.reacts_to,
                            key=event.key)
        if isinstance(event, MegolmEvent):
            source = dict(event.source)
            source.setdefault("room_id", room_id)
            return Incoming("undecryptable", event.event_id, room_id, sender, ts, source=source)
        return None

    def _claim_of(self, event: Any, room_id: str) -> _Claim:
        """Which keys the room key that decrypted `event` came from: the Olm channel it arrived by authenticates the
        curve25519 key and the ed25519 key it names. A key forwarded by someone else authenticates nothing."""
        olm = self.client.olm
        session = None
        if olm is not None and event.sender_key and event.session_id:
            session = olm.inbound_group_store.get(room_id, event.sender_key, event.session_id)
        if session is None or session.forwarding_chain:
            return _Claim("", "", forwarded=True)
        return _Claim(str(session.sender_key), str(session.ed25519), forwarded=False)

    async def _authenticate(self, events: list[Incoming]) -> list[Incoming]:
        """Attach to each decrypted event the device it came from, as the keys its sender's homeserver lists show.

        A device not listed yet (a phone logged in a moment ago) is asked for once more before the event is taken
        as coming from an unknown device. A failed lookup leaves the batch to be fetched again, never judged blind.
        """
        claims, self._claims = self._claims, {}
        senders = {e.sender for e in events if e.event_id in claims}
        if not senders:
            return events
        known = await self.directory.get(senders)
        unmatched = {e.sender for e in events if e.event_id in claims and not claims[e.event_id].forwarded
                     and (e.sender not in known
                          or known[e.sender].device_with(claims[e.event_id].curve25519,
                                                         claims[e.event_id].ed25519) is None)}
        if unmatched:
            known.update(await self.directory.get(unmatched, fresh=True))
        out: list[Incoming] = []
        for event in events:
            claim = claims.get(event.event_id)
            if claim is None:
                out.append(event)
                continue
            keys = known.get(event.sender)
            device = None if claim.forwarded or keys is None else keys.device_with(claim.curve25519, claim.ed25519)
            out.append(replace(event, sender_device=SenderDevice(
                device_id=device or "",
                known=device is not None,
                cross_signed=device is not None and keys is not None and device in keys.cross_signed,
                master_key=keys.master if keys is not None else None,
            )))
        return out

    async def _fill_gaps(self, resp: SyncResponse, seen: Mapping[str, Head]) -> list[Incoming]:
        """After an outage the homeserver may send only the newest events of a room; fetch the rest.

        Paging back stops at the last event the bot had seen in that room, so the cost is the gap, not the room's
        history, and only the events after it are decrypted.
        """
        out: list[Incoming] = []
        newest_seen = max((h.origin_ts for h in seen.values()), default=0)
        for room_id, info in resp.rooms.join.items():
            if not info.timeline.limited or not info.timeline.prev_batch:
                continue
            if any(self._is_own_join(getattr(e, "source", {})) for e in info.timeline.events):
                continue  # the bot joined in this batch: what lies before is not for it
            head = seen.get(room_id)
            floor_ms = (time.time() - GAP_LIMIT_S) * 1000
            if head is not None:
                floor_ms = max(floor_ms, head.origin_ts - GAP_SKEW_S * 1000)
            elif newest_seen:
                floor_ms = max(floor_ms, newest_seen - GAP_SKEW_S * 1000)
            missed = await self._page_back(room_id, info.timeline.prev_batch, head, floor_ms)
            self.gap_events_fetched += len(missed)
            log.info("timeline gap in %s: %d missed events fetched", room_id, len(missed))
            for raw in reversed(missed):  # oldest first, as they happened
                incoming = self._convert_raw(raw, room_id)
                if incoming:
                    out.append(incoming)
        return out

    async def _page_back(self, room_id: str, start: str, head: Head | None, floor_ms: float) -> list[dict[str, Any]]:
        """Raw events from `start` backwards, newest first, until `head`, the bot's own join (what was said before
        the bot was in the room is not for it) or `floor_ms`; bounded to 20 pages."""
        found: list[dict[str, Any]] = []
        token = start
        for _ in range(20):
            page = await self._get(f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/messages",
                                   {"from": token, "dir": "b", "limit": "50"})
            chunk = page.get("chunk") or []
            for raw in chunk:
                if head is not None and raw.get("event_id") == head.event_id:
                    return found
                if int(raw.get("origin_server_ts") or 0) < floor_ms:
                    return found
                if self._is_own_join(raw):
                    return found
                found.append(raw)
            token = page.get("end") or ""
            if not chunk or not token:
                break
        return found

    def _is_own_join(self, raw: dict[str, Any]) -> bool:
        """The bot's own arrival in a room (not a profile change, which is a join following a join)."""
        if raw.get("type") != "m.room.member" or raw.get("state_key") != self.user_id:
            return False
        previous = ((raw.get("unsigned") or {}).get("prev_content") or {}).get("membership")
        return (raw.get("content") or {}).get("membership") == "join" and previous != "join"

    def _convert_raw(self, raw: dict[str, Any], room_id: str) -> Incoming | None:
        raw = {**raw, "room_id": raw.get("room_id", room_id)}
        event = Event.parse_event(raw)
        if isinstance(event, MegolmEvent):
            event.room_id = room_id
            try:
                event = self.client.decrypt_event(event)
            except Exception:
                pass  # kept as undecryptable: the key may still come
        return self.convert(event, room_id)

    async def _get(self, path: str, query: Mapping[str, str]) -> dict[str, Any]:
        resp = await self.client.send(
            "GET", f"{path}?{urllib.parse.urlencode(query)}",
            headers={"Authorization": f"Bearer {self.access_token}"},
        )
        if resp.status != 200:
            raise OSError(f"{path} answered {resp.status}")
        return dict(await resp.json())

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
        return any(entry in (inviter, f":{server}") for entry in self.settings.allowed_inviters)

    async def _join(self, room_id: str, inviter: str) -> None:
        resp = await self.client.join(room_id)
        if isinstance(resp, JoinError):
            log.warning("could not join %s: %s", room_id, resp.message)
        else:
            log.info("joined %s on invitation from %s", room_id, inviter)

    # --- undecryptable events ------------------------------------------------------------------------------------
    async def request_key(self, source: dict[str, Any]) -> None:
        event = MegolmEvent.from_dict(source)
        event.room_id = source.get("room_id", "")
        try:
            await self.client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested

    async def try_decrypt(self, source: dict[str, Any]) -> Incoming | None:
        event = MegolmEvent.from_dict(source)
        event.room_id = source.get("room_id", "")
        try:
            decrypted = self.client.decrypt_event(event)
        except Exception:
            return None
        incoming = self.convert(decrypted, event.room_id)
        if incoming is None:
            return None
        try:
            return (await self._authenticate([incoming]))[0]
        except (DeliveryFailure, TimeoutError, OSError, aiohttp.ClientError):
            return None  # tried again with the other waiting events

    # --- rooms and sending ---------------------------------------------------------------------------------------
    def room_known(self, room_id: str) -> bool:
        return room_id in self.client.rooms

    def room_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted)

    def display_name(self, user_id: str, room_id: str | None = None) -> str | None:
        first = self.client.rooms.get(room_id) if room_id else None
        for room in ([first] if first else []) + list(self.client.rooms.values()):
            member = room.users.get(user_id)
            if member is not None and member.display_name:
                return str(member.display_name)
        return None

    def direct_room_usable(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted and (user_id in room.users or user_id in room.invited_users))

    def room_check(self, room_id: str, audience: frozenset[str]) -> RoomCheck:
        room = self.client.rooms.get(room_id)
        if room is None:
            return RoomCheck(flaws=("unknown",))
        allowed = audience | {self.user_id}
        strangers = sorted(u for u in {*room.users, *room.invited_users} if u not in allowed)
        flaws: list[str] = []
        if not room.encrypted:
            flaws.append("unencrypted")
        if room.join_rule != "invite":
            flaws.append("join_rule")
        if room.history_visibility not in ("joined", "invited"):
            flaws.append("history")
        levels = room.power_levels
        guarded = min([levels.defaults.invite, levels.defaults.kick, levels.defaults.ban,
                       levels.defaults.state_default,
                       *(levels.events.get(t, levels.defaults.state_default) for t in GUARDED_STATE)])
        for user in sorted({*room.users, *room.invited_users} - {self.user_id}):
            if levels.get_user_level(user) >= guarded:
                flaws.append(f"power:{user}")
        return RoomCheck(tuple(strangers), tuple(flaws))

    async def kick(self, room_id: str, user_id: str, reason: str) -> None:
        try:
            resp = await self.client.room_kick(room_id, user_id, reason)
        except (TimeoutError, OSError, LocalProtocolError, aiohttp.ClientError) as err:
            raise DeliveryFailure("network", f"could not remove: {type(err).__name__}") from err
        if isinstance(resp, ErrorResponse):
            raise _classify(resp)

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str, must_reach: str | None = None,
                   audience: frozenset[str] | None = None) -> str:
        """Send once; the same txn_id on a retry lets the homeserver drop a duplicate.

        `must_reach`: the message is meant for this user (a page); it is not sent at all unless they have a device
        the trust policy allows, under the identity pinned for them. `audience`: a room the bot made for these
        people, and nothing goes into it while anyone else is in it or could change it.
        """
        await self._ready.wait()
        if room_id not in self.client.rooms:
            raise DeliveryFailure("room_gone", f"not in room {room_id}")
        if audience is not None:
            check = self.room_check(room_id, audience)
            if check.strangers:
                raise DeliveryFailure("stranger", f"{room_id} has {len(check.strangers)} member(s) it is not for")
            if check.flaws:
                raise DeliveryFailure("stranger", f"{room_id} is not the bot's alone: {', '.join(check.flaws)}")
        if must_reach and not self.room_encrypted(room_id):
            # A direct room is made encrypted; until a sync has shown its encryption state, sending would go out in
            # the clear. Pages never do.
            raise DeliveryFailure("keys", f"encryption of {room_id} not synced yet")
        try:
            if self.room_encrypted(room_id):
                await self.keys.prepare(room_id, must_reach)
            resp = await self.client.room_send(room_id, "m.room.message", content, tx_id=txn_id,
                                               ignore_unverified_devices=True)
        except DeliveryFailure:
            raise
        except (TimeoutError, OSError, aiohttp.ClientError) as err:
            raise DeliveryFailure("network", f"{type(err).__name__}: {err}") from err
        except Exception as err:  # nio's SendRetryError and crypto errors: the keys were not ready; try again
            raise DeliveryFailure("keys", f"{type(err).__name__}: {err}") from err
        self._health.answered(time.time())  # an answer, even a refusal: the homeserver is there
        if isinstance(resp, RoomSendResponse):
            return str(resp.event_id)
        raise _classify(resp)

    async def prepare_room(self, room_id: str, user_id: str) -> None:
        if self.direct_room_usable(room_id, user_id):
            try:
                await self.keys.prepare(room_id, user_id)
            except DeliveryFailure as failure:
                log.info("could not prepare %s ahead of time (%s); the first message will", room_id, failure.reason)

    async def create_direct_room(self, user_id: str, timeout: float = 30.0) -> str:
        """An encrypted direct room with `user_id`; returns once the bot's client knows the room."""
        await self._ready.wait()
        try:
            resp = await self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.private_chat,
                initial_state=[ENCRYPTION_STATE, HISTORY_INVITED],
                power_level_override=owned_power_levels(self.user_id, await self._creator_privileged()),
            )
        except (TimeoutError, OSError, LocalProtocolError, aiohttp.ClientError) as err:
            raise DeliveryFailure("network", f"could not create a direct room: {type(err).__name__}") from err
        if not isinstance(resp, RoomCreateResponse):
            raise _classify(resp)
        # A sync can show the room halfway through its creation, before its encryption state or the invitation:
        # wait for both, or the first message would go out in the clear or without a key for its reader.
        waiter = self._room_seen.setdefault(resp.room_id, asyncio.Event())
        deadline = time.monotonic() + timeout
        while not self.direct_room_usable(resp.room_id, user_id):
            waiter.clear()
            try:
                await asyncio.wait_for(waiter.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError as err:
                raise DeliveryFailure("server", f"direct room {resp.room_id} not synced yet") from err
        self._room_seen.pop(resp.room_id, None)
        await self._mark_direct(user_id, resp.room_id)
        return str(resp.room_id)

    # --- alarm rooms -----------------------------------------------------------------------------------------------
    async def create_alarm_room(self, name: str, invite: list[str], timeout: float = 30.0) -> str:
        """An encrypted private room for one alarm, `invite` invited; returns once the bot's client knows the room
        as encrypted with everyone invited, so the first message is encrypted for all of them."""
        await self._ready.wait()
        try:
            resp = await self.client.room_create(
                name=name, invite=invite, preset=RoomPreset.private_chat,
                initial_state=[ENCRYPTION_STATE, HISTORY_INVITED],
                power_level_override=owned_power_levels(self.user_id, await self._creator_privileged()),
            )
        except (TimeoutError, OSError, LocalProtocolError, aiohttp.ClientError) as err:
            raise DeliveryFailure("network", f"could not create an alarm room: {type(err).__name__}") from err
        if not isinstance(resp, RoomCreateResponse):
            raise _classify(resp)
        waiter = self._room_seen.setdefault(resp.room_id, asyncio.Event())
        deadline = time.monotonic() + timeout
        while not all(self.direct_room_usable(resp.room_id, user) for user in invite):
            waiter.clear()
            try:
                await asyncio.wait_for(waiter.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError as err:
                raise DeliveryFailure("server", f"alarm room {resp.room_id} not synced yet") from err
        self._room_seen.pop(resp.room_id, None)
        return str(resp.room_id)

    async def _creator_privileged(self) -> bool:
        """Whether the rooms the homeserver makes by default give their creator power of their own (asked once)."""
        if self._default_room_version is None:
            try:
                capabilities = await self._get("/_matrix/client/v3/capabilities", {})
            except (TimeoutError, OSError, aiohttp.ClientError) as err:
                raise DeliveryFailure("network", f"could not ask the homeserver's room version: {err}") from err
            versions = (capabilities.get("capabilities") or {}).get("m.room_versions") or {}
            self._default_room_version = str(versions.get("default") or "1")
        return creators_privileged(self._default_room_version)

    async def invite(self, room_id: str, user_id: str) -> None:
        try:
            resp = await self.client.room_invite(room_id, user_id)
        except (TimeoutError, OSError, LocalProtocolError, aiohttp.ClientError) as err:
            raise DeliveryFailure("network", f"could not invite: {type(err).__name__}") from err
        if isinstance(resp, ErrorResponse):
            raise _classify(resp)

    async def leave_room(self, room_id: str) -> None:
        try:
            resp = await self.client.room_leave(room_id)
        except (TimeoutError, OSError, LocalProtocolError, aiohttp.ClientError) as err:
            raise DeliveryFailure("network", f"could not leave: {type(err).__name__}") from err
        if isinstance(resp, ErrorResponse):
            raise _classify(resp)
        await self.client.room_forget(room_id)

    async def _mark_direct(self, user_id: str, room_id: str) -> None:
        """Record the room in m.direct, so clients show it as a direct chat."""
        path = f"/_matrix/client/v3/user/{urllib.parse.quote(self.user_id, safe='')}/account_data/m.direct"
        headers = {"Authorization": f"Bearer {self.access_token}"}
        try:
            current: dict[str, list[str]] = {}
            resp = await self.client.send("GET", path, headers=headers)
            if resp.status == 200:
                current = await resp.json()
            rooms = current.setdefault(user_id, [])
            if room_id not in rooms:
                rooms.append(room_id)
            await self.client.send("PUT", path, json.dumps(current),
                                   headers={**headers, "Content-Type": "application/json"})
        except (TimeoutError, OSError, aiohttp.ClientError) as err:
            log.info("could not update m.direct: %s", err)


@dataclass(frozen=True)
class _Claim:
    curve25519: str
    ed25519: str
    forwarded: bool


def creators_privileged(room_version: str) -> bool:
    """Whether rooms of `room_version` give their creator power beyond the power levels (version 12 and later)."""
    return room_version.isdigit() and int(room_version) >= 12


def _classify(resp: object) -> DeliveryFailure:
    transport = getattr(resp, "transport_response", None)
    status = getattr(transport, "status", None)
    errcode = str(getattr(resp, "status_code", "") or "") if isinstance(resp, ErrorResponse) else ""
    detail = str(getattr(resp, "message", resp))[:300]
    retry_after = getattr(resp, "retry_after_ms", None)
    return failure_for_status(status if isinstance(status, int) else None, errcode, detail,
                              retry_after if isinstance(retry_after, int) else None)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
