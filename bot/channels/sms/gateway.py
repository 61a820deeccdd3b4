"""An SMS gateway over HTTP in the request shape of 46elks (and the Nordic APIs that copy it): POST a form with
`from`, `to` and `message`, HTTP basic auth; 2xx with a JSON body holding the message's `id` means accepted.

Failures are classified for the sender: a timeout, a network error, 429 and 5xx are transient (tried again);
any other 4xx means the gateway refused this message (most often the number) and trying again cannot help.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class GatewaySettings:
    url: str
    sender: str
    username: str
    password: str
    timeout_s: float = 10.0


class SmsFailure(Exception):
    def __init__(self, reason: str, detail: str, permanent: bool) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason  # "timeout" | "network" | "server" | "rejected"
        self.detail = detail
        self.permanent = permanent


class SmsGateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def send(self, to: str, text: str) -> str:
        """Hand one message to the gateway; its id there, or SmsFailure."""
        if self._session is None:
            credentials = f"{self.settings.username}:{self.settings.password}".encode()
            self._session = aiohttp.ClientSession(
                headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            )
        form = {"from": self.settings.sender, "to": to, "message": text}
        try:
            async with self._session.post(self.settings.url, data=form) as resp:
                body = await resp.text()
                if resp.status == 429 or resp.status >= 500:
                    raise SmsFailure("server", f"HTTP {resp.status}", permanent=False)
                if resp.status >= 400:
                    raise SmsFailure("rejected", f"HTTP {resp.status}: {body[:200]}", permanent=True)
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    answer = None
        except TimeoutError as err:
            raise SmsFailure("timeout", f"no answer within {self.settings.timeout_s:g} s", permanent=False) from err
        except (aiohttp.ClientError, OSError) as err:
            raise SmsFailure("network", type(err).__name__, permanent=False) from err
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            await asyncio.sleep(0)
