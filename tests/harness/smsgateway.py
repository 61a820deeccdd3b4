"""A stand-in for an SMS gateway with 46elks' request shape (POST form from/to/message, basic auth), on 127.0.0.1.

The real gateway is a paid outside service; this one records what it was asked and plays its failures, one
scripted answer per request: "ok", "5xx" (a server error), "4xx" (a refused number), "hang" (no answer in time).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Request:
    to: str
    sender: str
    message: str
    auth: tuple[str, str]
    answer: str  # how the stand-in answered


class GatewayStandIn:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: list[str] = []  # answers for the next requests, in order; then "ok"
        self.refused_numbers: set[str] = set()  # always answered 400
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._hang = asyncio.Event()
        self.url = ""

    @property
    def delivered(self) -> list[Request]:
        """What the gateway took (answered 2xx): what would reach phones."""
        return [r for r in self.requests if r.answer == "ok"]

    async def start(self) -> GatewayStandIn:
        app = web.Application()
        app.router.add_post("/a1/sms", self._sms)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/a1/sms"
        return self

    async def stop(self) -> None:
        self._hang.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _sms(self, request: web.Request) -> web.Response:
        form = await request.post()
        user, _, password = base64.b64decode(request.headers.get("Authorization", "Basic ").split()[-1] or b"")\
            .decode().partition(":")
        to = str(form.get("to", ""))
        answer = "4xx" if to in self.refused_numbers else (self.script.pop(0) if self.script else "ok")
        self.requests.append(Request(to, str(form.get("from", "")), str(form.get("message", "")),
                                     (user, password), answer))
        if answer == "hang":
            await self._hang.wait()
            return web.json_response({"status": "failed"}, status=504)
        if answer == "5xx":
            return web.json_response({"message": "Internal error"}, status=503)
        if answer == "4xx":
            return web.Response(text="Invalid to number", status=403)
        return web.json_response({"id": f"s{next(self._ids)}", "status": "created", "to": to})
