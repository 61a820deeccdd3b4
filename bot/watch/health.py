"""Being watched: /healthz and /metrics over HTTP, and a dead-man ping while healthy.

/healthz answers 200 only when the bot is doing its work: it synced recently, nothing has waited too long to be sent,
and the deadlines are being swept. Anything else is 503 with what is wrong, so a service manager or a monitoring
system notices a bot that runs but does nothing (a revoked session, a dead homeserver, a stuck loop). The dead-man
URL is pinged every minute while healthy; a cron-monitoring service raises the alarm when the pings stop — which
also covers a bot that is not running at all.

Where instances share a database (bot/ha/), each answers for itself and says its `role`: "acting" or "standing_by".
A standby is judged by what it does — it syncs, so it is ready to take over — and is 200 while it does: a load
balancer or a supervisor must not restart or drop the instance that would page if the acting one died. The sweep
and the outbox are the acting instance's, and judged only there.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import aiohttp
from aiohttp import web

from bot.watch.metrics import Metrics

log = logging.getLogger(__name__)

DEADMAN_EVERY_S = 60.0


@dataclass(frozen=True)
class HealthReport:
    sync_age_s: float | None  # None: no successful sync yet
    outbox_depth: int
    oldest_undelivered_s: float | None
    last_sweep_age_s: float | None
    homeserver: str
    homeserver_silent_s: float | None = None  # since the homeserver last answered anything; None: never yet
    problems: list[str] = field(default_factory=list)
    stopping: str = ""  # why the bot is giving up (e.g. its session was revoked and no password is available)
    role: str = "acting"  # or "standing_by", where instances share the database (bot/ha/)

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class HealthLimits:
    sync_age_s: float
    undelivered_age_s: float
    sweep_age_s: float
    homeserver_s: float = 60.0


def judge(report: HealthReport, limits: HealthLimits) -> HealthReport:
    """The report with what is past its limit named in `problems`."""
    problems = list(report.problems)
    if report.stopping:
        problems.append(report.stopping)
    if report.homeserver_silent_s is not None and report.homeserver_silent_s > limits.homeserver_s:
        problems.append(f"the homeserver has not answered for {report.homeserver_silent_s:.0f} s")
    if report.sync_age_s is None or report.sync_age_s > limits.sync_age_s:
        problems.append("no successful sync recently" if report.sync_age_s is not None else "not synced yet")
    acting = report.role == "acting"
    if acting and report.oldest_undelivered_s is not None and report.oldest_undelivered_s > limits.undelivered_age_s:
        problems.append(f"a message has waited {report.oldest_undelivered_s:.0f} s to be sent")
    if acting and (report.last_sweep_age_s is None or report.last_sweep_age_s > limits.sweep_age_s):
        problems.append("deadlines are not being swept")
    return HealthReport(report.sync_age_s, report.outbox_depth, report.oldest_undelivered_s,
                        report.last_sweep_age_s, report.homeserver, report.homeserver_silent_s, problems,
                        report.stopping, report.role)


class Monitoring:
    def __init__(self, host: str, port: int, report: Callable[[], HealthReport], limits: HealthLimits,
                 metrics: Metrics, deadman_url: str = "", metrics_token: str = "") -> None:
        self.host = host
        self.port = port
        self.report = report
        self.limits = limits
        self.metrics = metrics
        self.deadman_url = deadman_url
        self.metrics_token = metrics_token  # "": /metrics open to whoever reaches the port
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def health(self) -> HealthReport:
        return judge(self.report(), self.limits)

    async def _healthz(self, _request: web.Request) -> web.Response:
        report = self.health()
        body = {"status": "ok" if report.healthy else "failing", **asdict(report)}
        return web.Response(status=200 if report.healthy else 503, text=json.dumps(body),
                            content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.metrics_token:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.metrics_token}".encode()):
                return web.Response(status=401, text="a bearer token is needed\n",
                                    headers={"WWW-Authenticate": 'Bearer realm="jourbot"'})
        return web.Response(body=self.metrics.exposition(), content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses  # where it listens: with port 0, the port the system chose
        self.bound_port = int(addresses[0][1]) if addresses else self.port
        log.info("monitoring on http://%s:%d/healthz and /metrics", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def ping_while_healthy(self, stop: asyncio.Event) -> None:
        if not self.deadman_url:
            return
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not stop.is_set():
                if self.health().healthy:
                    try:
                        async with session.get(self.deadman_url) as resp:
                            if resp.status >= 400:
                                log.warning("dead-man ping answered %d", resp.status)
                    except (aiohttp.ClientError, TimeoutError) as err:
                        log.warning("dead-man ping failed: %s", type(err).__name__)
                try:
                    await asyncio.wait_for(stop.wait(), DEADMAN_EVERY_S)
                except TimeoutError:
                    pass
