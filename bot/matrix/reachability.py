"""Can the homeserver reach these people? Read-only lookups with the bot's saved access token, for `roster ready`
and the daily readiness report: a profile lookup (does the account exist; no admin rights needed), `/keys/query`
(devices, and which of them their owner cross-signed), and the membership in the person's direct room with the bot.

Nothing here logs in, syncs, uploads keys or touches the crypto store, so it never disturbs a running bot's device.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.matrix.device_trust import cross_signed_devices, self_signed_devices

CLIENT_API = "/_matrix/client/v3"
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
CONCURRENT_LOOKUPS = 8  # a week's rosters of a city are hundreds of people; the homeserver is shared


class ReachabilityError(Exception):
    """The homeserver could not be asked at all (unreachable, or the saved session refused)."""


@dataclass(frozen=True)
class Reach:
    """What the homeserver says of one person. None: it could not tell (the lookup failed)."""

    account: bool | None
    devices: int = 0
    cross_signed: int = 0
    membership: str | None = None  # in the direct room: "join", "invite", "leave", "ban"; None: no room or never in it


@dataclass(frozen=True)
class Session:
    homeserver: str
    access_token: str
    user_id: str


def saved_session(state_dir: Path) -> Session | None:
    """The bot's saved login (kept by bot/matrix/client.py), or None if it has never logged in."""
    path = state_dir / "credentials.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    return Session(str(saved["homeserver"]), str(saved["access_token"]), str(saved["user_id"]))


async def reach(session: Session, people: Mapping[str, str | None],
                http: aiohttp.ClientSession | None = None) -> dict[str, Reach]:
    """person → what the homeserver says of them; `people` maps each person to their direct room (None: none yet)."""
    own = http is None
    client = http if http is not None else aiohttp.ClientSession(timeout=TIMEOUT)
    api = _Api(client, session)
    lookups = asyncio.Semaphore(CONCURRENT_LOOKUPS)

    async def one(user: str, room: str | None, keys: dict[str, Any]) -> tuple[str, Reach]:
        async with lookups:
            return user, Reach(
                account=await api.account_exists(user),
                devices=len(self_signed_devices(keys, user)),
                cross_signed=len(cross_signed_devices(keys, user)),
                membership=await api.membership(room, user) if room else None,
            )

    try:
        keys = await api.keys_query(list(people)) if people else {}
        return dict(await asyncio.gather(*(one(user, room, keys) for user, room in people.items())))
    finally:
        if own:
            await client.close()


class _Api:
    def __init__(self, http: aiohttp.ClientSession, session: Session) -> None:
        self.http = http
        self.base = session.homeserver.rstrip("/") + CLIENT_API
        self.headers = {"Authorization": f"Bearer {session.access_token}"}

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        try:
            async with self.http.request(method, self.base + path, json=body, headers=self.headers) as resp:
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    data = {}
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ReachabilityError(f"the homeserver did not answer ({type(err).__name__})") from None
        if status == 401:
            raise ReachabilityError("the homeserver refused the bot's saved session (logged out?): start the bot"
                                    " so that it logs in again")
        return status, data if isinstance(data, dict) else {}

    async def keys_query(self, users: list[str]) -> dict[str, Any]:
        status, data = await self._call("POST", "/keys/query", {"device_keys": {u: [] for u in users},
                                                                "timeout": 10000})
        if status != 200:
            raise ReachabilityError(f"/keys/query answered HTTP {status}")
        return data

    async def account_exists(self, user: str) -> bool | None:
        status, _ = await self._call("GET", f"/profile/{quote(user, safe='')}")
        if status == 200:
            return True
        return False if status == 404 else None

    async def membership(self, room: str, user: str) -> str | None:
        status, data = await self._call(
            "GET", f"/rooms/{quote(room, safe='')}/state/m.room.member/{quote(user, safe='')}")
        if status != 200:
            return None  # never a member (404), or the bot itself is no longer in the room (403)
        membership = data.get("membership")
        return str(membership) if membership else None
