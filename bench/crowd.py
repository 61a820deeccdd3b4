"""Members for a big police room, without a client for each: registered accounts, each with one device whose keys
(identity and a few signed one-time keys) are uploaded as a client would, joined to the room. Whoever sends into the
room then shares its room key with every one of those devices, as with real members; nothing runs for them."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request
from typing import Any

from nio import Api
from nio.crypto import OlmAccount
from plumbing import register_with_token

from tests.harness.synapse import Synapse

ONE_TIME_KEYS = 4  # the police's client and the bot each claim one per device when they first share a room key


def _request(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return dict(json.load(resp))


def _device_keys(user_id: str, device_id: str) -> dict[str, Any]:
    account = OlmAccount()
    keys = account.identity_keys
    device: dict[str, Any] = {
        "user_id": user_id, "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"curve25519:{device_id}": keys["curve25519"], f"ed25519:{device_id}": keys["ed25519"]},
    }
    device["signatures"] = {user_id: {f"ed25519:{device_id}": account.sign(Api.to_canonical_json(device))}}
    account.generate_one_time_keys(ONE_TIME_KEYS)
    one_time: dict[str, Any] = {}
    for key_id, key in account.one_time_keys["curve25519"].items():
        signed: dict[str, Any] = {"key": key}
        signed["signatures"] = {user_id: {f"ed25519:{device_id}": account.sign(Api.to_canonical_json(signed))}}
        one_time[f"signed_curve25519:{key_id}"] = signed
    return {"device_keys": device, "one_time_keys": one_time}


def _member(synapse: Synapse, localpart: str, password: str, room_id: str) -> str:
    user_id, token, device_id = register_with_token(synapse, localpart, password)
    _request(f"{synapse.url}/_matrix/client/v3/keys/upload", token, _device_keys(user_id, device_id))
    _request(f"{synapse.url}/_matrix/client/v3/join/{urllib.parse.quote(room_id, safe='')}", token, {})
    return user_id


async def fill_room(synapse: Synapse, room_id: str, count: int, password: str, prefix: str = "medlem",
                    at_once: int = 8) -> dict[str, Any]:
    """`count` members join the (public) room `room_id`; returns how long that took."""
    gate = asyncio.Semaphore(at_once)
    started = time.perf_counter()

    async def one(i: int) -> str:
        async with gate:
            return await asyncio.to_thread(_member, synapse, f"{prefix}{i:03d}", password, room_id)

    members = await asyncio.gather(*(one(i) for i in range(1, count + 1)))
    return {"members": len(members), "seconds": round(time.perf_counter() - started, 1)}
