"""The Element-stack test client: matrix-js-sdk with its Rust crypto, in strict mode (tests/js/element_client.mjs)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fakematrix import is_page, is_reminder
from tests.harness.people import Received

JS_DIR = Path(__file__).resolve().parents[1] / "js"
JS_CLIENT = JS_DIR / "element_client.mjs"


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, once the Element-stack client is installed (`make js`)."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node (>= 20) is needed for the Element-stack client")
    if not (JS_DIR / "node_modules" / "matrix-js-sdk").is_dir():
        pytest.fail(f"the Element-stack client is not installed: run `make js` (npm ci in {JS_DIR})")
    return path


async def run_element_client(node: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        node,
        str(JS_CLIENT),
        json.dumps(spec),
        cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    lines = out.decode().strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {lines!r}; stderr tail: {err.decode()[-2000:]}"
    result: dict[str, Any] = json.loads(lines[0])
    assert (proc.returncode == 0) == result["ok"], (proc.returncode, result)
    return result


class ElementPerson:
    """A person on the Element stack in its strictest mode, up for a whole test (tests/js/element_person.mjs): it
    shares room keys only with devices their owner cross-signed and decrypts nothing any other device sent, so every
    message it reads came from a cross-signed device. What it reads is in `received`, with the sending device and
    whether its owner signed it in `devices`; `stop` logs the device out (the session's other tests share the
    account)."""

    def __init__(self, node: str, homeserver: str, user_id: str, password: str, lifetime_s: float = 300,
                 accept_invites: bool = True) -> None:
        """`accept_invites` False: invitations wait, as a person's do until she taps them, for `join_invited`."""
        self.node = node
        self.spec = {"homeserver": homeserver, "user": user_id, "lifetime": lifetime_s,
                     "accept_invites": accept_invites}
        self.password = password
        self.user_id = user_id
        self.device_id = ""
        self.received: list[Received] = []
        self.devices: dict[str, dict[str, Any]] = {}  # event id → device, cross_signed, shield_reason, received_ms
        self.undecryptable: dict[str, str] = {}  # event id → why, while no key came for it
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._results: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._new = asyncio.Event()

    async def start(self, timeout: float = 60) -> None:
        self._ready = asyncio.get_running_loop().create_future()
        self._proc = await asyncio.create_subprocess_exec(
            self.node, str(JS_DIR / "element_person.mjs"), json.dumps(self.spec), cwd=JS_DIR,
            env={**os.environ, "ELEMENT_CLIENT_PASSWORD": self.password},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            limit=2**20)
        self._reader = asyncio.create_task(self._read())
        ready = await asyncio.wait_for(self._ready, timeout)
        self.device_id = str(ready["device_id"])

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            said = json.loads(line)
            kind = said.pop("type")
            if kind == "ready" and self._ready is not None and not self._ready.done():
                self._ready.set_result(said)
            elif kind == "fatal" and self._ready is not None and not self._ready.done():
                self._ready.set_exception(AssertionError(f"{self.user_id}: {said['error']}"))
            elif kind in ("result", "error") and said["id"] in self._results:
                self._results.pop(said["id"]).set_result(dict(said, failed=kind == "error"))
            elif kind == "undecryptable":
                self.undecryptable[said["event_id"]] = said["reason"]
            elif kind == "message":
                content = said["content"]
                self.undecryptable.pop(said["event_id"], None)
                self.received.append(Received(said["room"], said["event_id"], said["sender"],
                                              str(content.get("body", "")), str(content.get("msgtype", "")),
                                              bool(said["encrypted"]), content))
                self.devices[said["event_id"]] = {k: said[k] for k in ("device", "cross_signed", "shield_reason",
                                                                      "received_ms")}
            self._new.set()

    async def _ask(self, command: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        number = next(self._ids)
        self._results[number] = asyncio.get_running_loop().create_future()
        self._proc.stdin.write((json.dumps(dict(command, id=number)) + "\n").encode())
        await self._proc.stdin.drain()
        result = await asyncio.wait_for(self._results[number], timeout)
        assert not result["failed"], f"{self.user_id}: {command['cmd']}: {result['error']}"
        return result

    async def create_room(self, invite: list[str]) -> str:
        return str((await self._ask({"cmd": "create_room", "invite": invite}))["room"])

    async def send(self, room_id: str, body: str) -> str:
        return str((await self._ask({"cmd": "send", "room": room_id,
                                     "content": {"msgtype": "m.text", "body": body}}))["event_id"])

    async def join_invited(self) -> list[str]:
        """Accept every invitation that waits; the rooms' ids, once each shows as joined and encrypted."""
        return [str(room) for room in (await self._ask({"cmd": "join_invited"}))["rooms"]]

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 20) -> None:
        await self._ask({"cmd": "wait_joined", "room": room_id, "user": user_id}, timeout)

    async def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 20) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.received:
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                seen = [(m.sender, m.body[:80]) for m in self.received]
                raise AssertionError(f"{self.user_id}: no matching message within {timeout} s; saw {seen}; "
                                     f"undecryptable: {self.undecryptable}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), 0.2)

    def pages(self, sender: str) -> list[Received]:
        return [m for m in self.received if m.sender == sender and is_page(m.content, self.user_id)
                and not is_reminder(m.content)]

    def from_sender(self, sender: str, room_id: str | None = None) -> list[Received]:
        return [m for m in self.received if m.sender == sender and (room_id is None or m.room_id == room_id)]

    async def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.returncode is None:
            with contextlib.suppress(Exception):
                await self._ask({"cmd": "stop"}, 15)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 10)
            if self._proc.returncode is None:
                self._proc.kill()
                await self._proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
