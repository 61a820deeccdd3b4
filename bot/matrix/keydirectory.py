"""What the homeserver lists of people's keys: their devices and cross-signing identity, fetched with /keys/query and
kept until a sync says a person's devices changed.

Both trust decisions read it: who may make the bot act (the device an event came from, bot/matrix/client.py) and who
may read what it sends (bot/matrix/roomkeys.py). One cache for both keeps a page from waiting for a query that a
command has just made, and keeps them from disagreeing about the same person.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.matrix.device_trust import cross_signed_devices, device_keys_of, master_key
from bot.matrix.port import DeliveryFailure

# Device lists are followed through sync (device_lists.changed); this bounds what a missed notification can cost.
MAX_AGE_S = 3600.0


@dataclass(frozen=True)
class UserKeys:
    """One person's keys as listed at `fetched_at`."""

    master: str | None  # the cross-signing master key; None: no identity
    devices: dict[str, tuple[str, str]]  # validly self-signed devices: id → (curve25519, ed25519)
    cross_signed: frozenset[str]  # of those, the ones their owner's identity signed
    fetched_at: float

    def device_with(self, curve25519: str, ed25519: str) -> str | None:
        """The device whose identity keys these are, if the person has one."""
        for device_id, keys in self.devices.items():
            if keys == (curve25519, ed25519):
                return device_id
        return None


Query = Callable[[list[str]], Awaitable[dict[str, Any]]]


class KeyDirectory:
    def __init__(self, query: Query, clock: Callable[[], float] = time.monotonic) -> None:
        self._query = query
        self._clock = clock
        self._known: dict[str, UserKeys] = {}
        self._lock = asyncio.Lock()

    def invalidate(self, users: Iterable[str]) -> None:
        for user in users:
            self._known.pop(user, None)

    def clear(self) -> None:
        self._known.clear()

    def cached(self, user: str) -> UserKeys | None:
        found = self._known.get(user)
        return found if found is not None and self._clock() - found.fetched_at < MAX_AGE_S else None

    async def get(self, users: Iterable[str], fresh: bool = False) -> dict[str, UserKeys]:
        """Everyone's keys, asking the homeserver (once, for all who are missing) only for those not known.

        Nobody is left out of the answer because a sync dropped their keys while this call waited for another's
        query: they are asked for anew (when dropped before this call's own query) or answered as they were known
        (when dropped during it). Left out, they would look like someone with no device at all, and a page to them
        would fail for good."""
        wanted = sorted(set(users))
        if fresh:
            self.invalidate(wanted)
        found = {u: keys for u in wanted if (keys := self.cached(u)) is not None}
        if len(found) < len(wanted):
            async with self._lock:
                for user in wanted:  # fetched by another caller meanwhile, or dropped by a sync meanwhile
                    keys = self.cached(user)
                    if keys is not None:
                        found[user] = keys
                    else:
                        found.pop(user, None)
                missing = [u for u in wanted if u not in found]
                if missing:
                    response = await self._query(missing)
                    now = self._clock()
                    for user in missing:
                        found[user] = self._known[user] = UserKeys(
                            master_key(response, user), device_keys_of(response, user),
                            frozenset(cross_signed_devices(response, user)), now)
        return {u: found[u] for u in wanted if u in found}


def raw_query(send: Callable[..., Awaitable[Any]], access_token: Callable[[], str]) -> Query:
    """A /keys/query through nio's HTTP session (`AsyncClient.send`), so it shares its connection and timeouts."""

    async def query(users: list[str]) -> dict[str, Any]:
        resp = await send(
            "POST",
            "/_matrix/client/v3/keys/query",
            json.dumps({"device_keys": {u: [] for u in users}}),
            headers={"Authorization": f"Bearer {access_token()}", "Content-Type": "application/json"},
        )
        if resp.status != 200:
            raise DeliveryFailure("server", f"keys/query answered {resp.status}")
        return dict(await resp.json())

    return query
