"""The gateway client's classification of what went wrong: tried again, or never."""

from __future__ import annotations

import socket

import pytest

from bot.channels.sms.gateway import GatewaySettings, SmsFailure, SmsGateway
from tests.harness.smsgateway import GatewayStandIn


async def test_a_gateway_nobody_listens_on_is_a_network_failure_tried_again():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nothing listens there
    gateway = SmsGateway(GatewaySettings(f"http://127.0.0.1:{port}/a1/sms", "Jourbot", "u", "p", timeout_s=2))
    try:
        with pytest.raises(SmsFailure) as failure:
            await gateway.send("+46701740605", "Jourlarm L1 (Farsta). Öppna Element och svara.")
        assert failure.value.reason == "network" and not failure.value.permanent
    finally:
        await gateway.close()


async def test_the_gateway_answers_are_classified_and_its_id_kept():
    stand_in = await GatewayStandIn().start()
    gateway = SmsGateway(GatewaySettings(stand_in.url, "Jourbot", "u", "p", timeout_s=1))
    try:
        stand_in.script = ["5xx", "4xx", "hang", "ok"]
        outcomes = []
        for _ in range(3):
            with pytest.raises(SmsFailure) as failure:
                await gateway.send("+46701740605", "x")
            outcomes.append((failure.value.reason, failure.value.permanent))
        assert outcomes == [("server", False), ("rejected", True), ("timeout", False)]
        assert await gateway.send("+46701740605", "x") == "s1"
    finally:
        await gateway.close()
        await stand_in.stop()
