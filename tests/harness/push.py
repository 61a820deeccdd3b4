"""Would this message ring? Element's own push rule evaluator (tests/js/push_actions.mjs, matrix-js-sdk's
PushProcessor) over an account's push rules as the homeserver serves them, and a decrypted event as a real client
received it, in its room with the members that client sees."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.harness.element import JS_DIR
from tests.harness.people import Person, Received

PUSH_ACTIONS = JS_DIR / "push_actions.mjs"


@dataclass(frozen=True)
class Actions:
    notify: bool
    sound: str | None
    highlight: bool
    rule: str | None  # the push rule that decided
    joined: int  # members the evaluator counted in the room

    @property
    def rings(self) -> bool:
        """A notification with a sound: the phone rings."""
        return self.notify and self.sound is not None


async def push_rules(person: Person) -> dict[str, Any]:
    """`person`'s push rules, as GET /_matrix/client/v3/pushrules/ serves them to their clients."""
    url = f"{person.client.homeserver}/_matrix/client/v3/pushrules/"
    headers = {"Authorization": f"Bearer {person.client.access_token}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        rules: dict[str, Any] = await resp.json()
    return rules


def room_facts(person: Person, room_id: str) -> dict[str, Any]:
    """The room as `person`'s client sees it: every joined member with their display name."""
    room = person.client.rooms[room_id]
    members = {user_id: user.display_name for user_id, user in room.users.items()
               if user_id not in room.invited_users}
    return {"room_id": room_id, "members": members}


def event_of(message: Received) -> dict[str, Any]:
    """The decrypted event as the client received it (its cleartext content; type after decryption)."""
    return {"type": "m.room.message", "sender": message.sender, "event_id": message.event_id,
            "content": message.content}


async def actions_for(node: str, person: Person, messages: dict[str, Received]) -> dict[str, Actions]:
    """What `person`'s Element would do with each of `messages` (name → message they received)."""
    spec = {
        "user_id": person.user_id,
        "rules": await push_rules(person),
        "cases": [{"name": name, "room": room_facts(person, m.room_id), "event": event_of(m)}
                  for name, m in messages.items()],
    }
    proc = await asyncio.create_subprocess_exec(
        node, str(PUSH_ACTIONS), cwd=JS_DIR,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(spec).encode()), 60)
    lines = out.decode().strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line, got {lines!r}; stderr tail: {err.decode()[-2000:]}"
    result = json.loads(lines[0])
    assert result["ok"] and proc.returncode == 0, result
    return {r["name"]: Actions(r["notify"], r["sound"], r["highlight"], r["rule"], r["joined"])
            for r in result["results"]}
