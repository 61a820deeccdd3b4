"""What a session without keys can do: plain HTTP against the homeserver, as a stolen password or a login minted by
an administrator gives. No encryption, no devices of its own worth the name — the attacker's view of the trust tests.
"""

from __future__ import annotations

import itertools
import urllib.parse
from typing import Any

import aiohttp

_txn = itertools.count(1)


class BareSession:
    def __init__(self, url: str, access_token: str, user_id: str) -> None:
        self.url = url
        self.access_token = access_token
        self.user_id = user_id

    @classmethod
    async def login(cls, url: str, user_id: str, password: str, device_name: str = "bare") -> BareSession:
        body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id},
                "password": password, "initial_device_display_name": device_name}
        async with aiohttp.ClientSession() as http, http.post(f"{url}/_matrix/client/v3/login", json=body) as resp:
            data = await resp.json()
            assert resp.status == 200, data
        return cls(url, str(data["access_token"]), str(data["user_id"]))

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        async with aiohttp.ClientSession() as http, http.request(method, f"{self.url}{path}", json=body,
                                                                 headers=headers) as resp:
            return resp.status, dict(await resp.json())

    async def send(self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message") -> str:
        """An event in the clear, whatever the room's encryption."""
        path = (f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/send/{event_type}/"
                f"bare{next(_txn)}")
        status, data = await self.request("PUT", path, content)
        assert status == 200, data
        return str(data["event_id"])

    async def say(self, room_id: str, body: str, reply_to: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send(room_id, content)

    async def react(self, room_id: str, event_id: str, key: str = "✅") -> str:
        return await self.send(room_id, {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id,
                                                          "key": key}}, "m.reaction")

    async def state(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any]:
        path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/state/{event_type}/{state_key}"
        status, data = await self.request("GET", path)
        assert status == 200, data
        return data

    async def make_room_admin(self, room_id: str, user_id: str) -> None:
        """Synapse's admin API: give `user_id` the highest power in a room (this session must be a server admin)."""
        path = f"/_synapse/admin/v1/rooms/{urllib.parse.quote(room_id, safe='')}/make_room_admin"
        status, data = await self.request("POST", path, {"user_id": user_id})
        assert status == 200, data
