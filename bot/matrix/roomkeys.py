"""Room keys: who gets them, and making sure they arrived before a message uses them.

Who gets a room's key is decided here for every encrypted room, under either policy: devices with validly self-signed
keys (`tofu`) or only those their owner cross-signed (`cross-signed`), and in both only while the owner's identity is
the one pinned for them (bot/trust/identities.py, through the `IdentityGate`).

All of it runs under one lock: nio's device and session bookkeeping (key queries, one-time key claims, sessions
shared per room) is not safe to run twice at once, while the encryption and sending of messages to different rooms
is, and the outbox sends to different targets concurrently.
"""

from __future__ import annotations

import asyncio
import logging

from nio import AsyncClient

from bot.matrix.keydirectory import KeyDirectory, UserKeys
from bot.matrix.port import AdmitAll, DeliveryFailure, IdentityGate

log = logging.getLogger(__name__)


class RoomKeys:
    def __init__(self, client: AsyncClient, user_id: str, trust: str, directory: KeyDirectory) -> None:
        self.client = client
        self.user_id = user_id
        self.trust = trust
        self.directory = directory
        self.gate: IdentityGate = AdmitAll()
        self.lock = asyncio.Lock()
        self._shared_for: dict[str, set[tuple[str, str]]] = {}  # room → devices known when its key was shared
        # Who may read a room, per room, until a device list or a membership changes: checking every signature of
        # every member before each message would make a big room slow to write to.
        self._generation = 0
        self._eligible: dict[str, tuple[tuple[int, int], dict[str, set[str]]]] = {}

    def forget_shared(self) -> None:
        """A new device (a new login): no room key of the old one is of any use."""
        self._shared_for.clear()
        self._eligible.clear()

    def devices_may_have_changed(self) -> None:
        """A sync reported changed device lists or memberships, or an identity was confirmed: judge afresh."""
        self._generation += 1

    @property
    def _stamp(self) -> tuple[int, int]:
        """What a judgement of who may read a room depends on: device lists and memberships, and the pins."""
        return self._generation, self.gate.version

    @property
    def _device_id(self) -> str:
        return str(self.client.device_id or "")

    async def prepare(self, room_id: str, must_reach: str | None) -> None:
        """Before a message to an encrypted room: apply the trust policy and share the room key where it is missing.

        Raises DeliveryFailure("no_trusted_device") when `must_reach` has no device the policy allows, and
        DeliveryFailure("identity_changed") when their identity is not the one pinned.
        """
        if self._nothing_to_do(room_id, must_reach):
            return  # the common case, a room whose key everyone already has: no need to wait for the lock
        async with self.lock:
            if must_reach and must_reach not in self.client.rooms[room_id].users:
                raise DeliveryFailure("keys", f"{must_reach} not yet seen in {room_id}")
            cached = self._eligible.get(room_id)
            if cached is not None and cached[0] == self._stamp:
                eligible = cached[1]
            else:
                stamp = self._stamp
                eligible = await self.apply_trust(room_id)
                self._eligible[room_id] = (stamp, eligible)
            if must_reach and not eligible.get(must_reach):
                keys = self.directory.cached(must_reach)
                if keys is not None and not self.gate.admits(must_reach, keys.master):
                    raise DeliveryFailure("identity_changed", f"{must_reach}'s identity is not the one pinned")
                raise DeliveryFailure("no_trusted_device", f"{must_reach} has no device the trust policy allows")
            await self._share_room_key(room_id, must_reach)

    def _nothing_to_do(self, room_id: str, recipient: str | None) -> bool:
        """True when the room's key is shared with exactly the devices there are now and the trust check stands.

        Checked without awaiting, so nothing can change it before the message is encrypted; anything else (a new
        device, a new member, no session yet, keys to query) goes the long way, under the lock.
        """
        olm = self.client.olm
        room = self.client.rooms.get(room_id)
        if olm is None or room is None or not room.members_synced or self.client.should_query_keys:
            return False
        if recipient and recipient not in room.users:
            return False
        cached = self._eligible.get(room_id)
        if cached is None or cached[0] != self._stamp or (recipient and not cached[1].get(recipient)):
            return False
        devices = {(user, d.id) for user in room.users for d in self.client.device_store.active_user_devices(user)}
        if recipient and not any(user == recipient for user, _ in devices):
            return False
        return devices == self._shared_for.get(room_id) and not olm.should_share_group_session(room_id)

    async def _share_room_key(self, room_id: str, recipient: str | None) -> None:
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
            raise DeliveryFailure("keys", f"no devices of {recipient} known yet")
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
            if not olm.is_device_blacklisted(device) and not (user == self.user_id and device.id == self._device_id)
            and olm.session_store.get(device.curve25519)
        }
        resp = await self.client.share_group_session(room_id, ignore_unverified_devices=True)
        missed = expected - set(getattr(resp, "users_shared_with", set()))
        if missed:
            olm.outbound_group_sessions.pop(room_id, None)
            raise DeliveryFailure("keys", f"room key did not reach {len(missed)} device(s); a new key will be made")

    def allowed_devices(self, user: str, keys: UserKeys) -> set[str]:
        """The devices of `user` that may get room keys under the policy, given what the homeserver lists."""
        if user == self.user_id:
            return set(keys.cross_signed) if self.trust == "cross-signed" else set(keys.devices)
        self.gate.seen_devices(user, frozenset(keys.devices))
        if not self.gate.admits(user, keys.master):
            return set()
        return set(keys.cross_signed) if self.trust == "cross-signed" else set(keys.devices)

    async def apply_trust(self, room_id: str) -> dict[str, set[str]]:
        """Withhold room keys from every device in the room the policy does not allow.

        nio shares keys with every non-blacklisted device, so the others are blacklisted in its store; when that set
        changes, the room's outbound session is dropped so no key already shared lives on. Signatures are verified
        here from /keys/query (bot/matrix/keydirectory.py), not taken from the homeserver's word.
        """
        room = self.client.rooms[room_id]
        users = sorted(room.users)
        known = await self.directory.get(users)
        eligible: dict[str, set[str]] = {}
        changed = False
        olm = self.client.olm
        assert olm is not None
        for user in users:
            keys = known.get(user)
            ok = self.allowed_devices(user, keys) if keys is not None else set()
            eligible[user] = ok
            for device in self.client.device_store.active_user_devices(user):
                if user == self.user_id and device.id == self._device_id:
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
