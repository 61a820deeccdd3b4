"""Under systemd (`Type=notify`, `WatchdogSec=`): the bot says it is ready once it has synced, and pets the watchdog
only while its event loop turns and its sweep runs — a bot whose sweep is stuck is left to be restarted."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

from bot.watch.service_manager import notify, watchdog_every_s
from tests.harness.component import ComponentBot


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
    try:
        await asyncio.sleep(1.0)
        said = received(systemd)
        assert said[0] == "READY=1" and said.count("WATCHDOG=1") >= 2
        bot.app.timers.shutdown()  # the sweep stops, as in a hung timer; its last run is long past
        bot.app.last_sweep_at = time.time() - bot.app.config.monitoring.sweep_age_limit_s - 1
        received(systemd)
        await asyncio.sleep(1.0)
        assert "WATCHDOG=1" not in received(systemd), "a bot that no longer sweeps is not kept alive"
    finally:
        await bot.stop()
    assert "STOPPING=1" in received(systemd)


def test_outside_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify("READY=1") is False and watchdog_every_s() is None
