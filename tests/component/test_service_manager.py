"""Under systemd (`Type=notify`, `WatchdogSec=`): the bot says it is ready once it has synced, and pets the watchdog
only while its event loop turns and its sweep runs — a bot whose sweep is stuck is left to be restarted."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest

from bot.watch.service_manager import notify, watchdog_every_s
from tests.harness.component import ComponentBot
from tests.harness.waits import until


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # petted every 0.2 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    yield sock
    sock.close()


class Turns:
    """The heartbeat's turns, counted where it measures the loop's lag each time (it pets the watchdog, or not,
    right after); `on_time` are those whose lag let it pet."""

    def __init__(self, gauge: Any, every: float) -> None:
        self.gauge = gauge
        self.every = every
        self.on_time = 0

    def set(self, lag: float) -> None:
        self.on_time += lag < self.every
        self.gauge.set(lag)


def received(sock: socket.socket) -> list[str]:
    out: list[str] = []
    while True:
        try:
            out.append(sock.recv(256).decode())
        except BlockingIOError:
            return out


async def test_ready_after_the_first_sync_and_the_watchdog_only_while_the_sweep_runs(tmp_path, systemd):
    assert watchdog_every_s() == pytest.approx(0.2)
    bot = await ComponentBot.start(tmp_path, live=True, timer_interval=0.1)
    turns = Turns(bot.app.metrics.loop_lag, 0.2)
    bot.app.metrics.loop_lag = turns  # type: ignore[assignment]
    try:
        said: list[str] = []
        await until(lambda: said.extend(received(systemd)) or said.count("WATCHDOG=1") >= 2, 10, "two pets")
        assert said[0] == "READY=1"
        bot.app.timers.shutdown()  # the sweep stops, as in a hung timer; its last run is long past
        bot.app.last_sweep_at = time.time() - bot.app.config.monitoring.sweep_age_limit_s - 1
        received(systemd)
        # Three turns on time since (0.6 s, three watchdog periods): each would have petted a sweeping bot.
        start = turns.on_time
        await until(lambda: turns.on_time >= start + 3, 10, "three turns of the heartbeat")
        assert "WATCHDOG=1" not in received(systemd), "a bot that no longer sweeps is not kept alive"
    finally:
        await bot.stop()
    assert "STOPPING=1" in received(systemd)


def test_outside_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify("READY=1") is False and watchdog_every_s() is None
