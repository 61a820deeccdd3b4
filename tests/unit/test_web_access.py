"""What the browser view and the monitoring give away: no http:// beyond this host, /metrics behind a bearer token
when one is set, and no names in a calendar page's <title>."""

from __future__ import annotations

import aiohttp
import pytest

from bot import config as config_module
from bot.watch.health import HealthLimits, HealthReport, Monitoring
from bot.watch.metrics import Metrics
from bot.web.auth import LoginLimiter

BASE = '[matrix]\nhomeserver = "https://m.example.org"\nuser_id = "@b:example.org"\n'


def load(tmp_path, text: str) -> config_module.Config:
    path = tmp_path / "config.toml"
    path.write_text(BASE + text)
    return config_module.load(path)


@pytest.mark.parametrize("url", ["http://jour.example.org", "http://10.0.0.5:8080"])
def test_http_is_refused_for_the_public_url_beyond_this_host(tmp_path, url):
    with pytest.raises(config_module.ConfigError, match=r"\[web\] public_url: expected https://"):
        load(tmp_path, f'[web]\npublic_url = "{url}"\n')


@pytest.mark.parametrize("url", ["https://jour.example.org", "http://127.0.0.1:8080", "http://localhost:8080",
                                 "http://[::1]:8080"])
def test_https_or_this_host_is_fine_for_the_public_url(tmp_path, url):
    assert load(tmp_path, f'[web]\npublic_url = "{url}"\n').web.public_url == url


def test_http_is_refused_for_the_sms_gateway(tmp_path):
    with pytest.raises(config_module.ConfigError, match=r"\[sms\] url: expected https://.*password"):
        load(tmp_path, '[sms]\nenabled = true\nurl = "http://api.46elks.com/a1/sms"\n')


def test_the_login_limit_is_per_address_and_lets_up():
    clock = [0.0]
    limiter = LoginLimiter(count=3, window_s=60, clock=lambda: clock[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b"), "another address has its own"
    assert limiter.retry_after("a") == 61
    clock[0] = 61
    assert limiter.allow("a")


async def test_metrics_need_the_bearer_token_when_one_is_set(tmp_path):
    report = HealthReport(1.0, 0, None, 0.5, "ok")
    monitoring = Monitoring("127.0.0.1", 0, lambda: report, HealthLimits(120, 300, 30), Metrics(),
                            metrics_token="s3cret-token-for-metrics")
    await monitoring.start()
    base = f"http://127.0.0.1:{monitoring.bound_port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/metrics") as resp:
                assert resp.status == 401
            async with session.get(base + "/metrics", headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
            async with session.get(base + "/metrics",
                                   headers={"Authorization": "Bearer s3cret-token-for-metrics"}) as resp:
                assert resp.status == 200 and "jourbot_alarm_transitions" in await resp.text()
            async with session.get(base + "/healthz") as resp:
                assert resp.status == 200, "health stays open to the service manager"
    finally:
        await monitoring.stop()


def test_a_metrics_token_file_others_can_read_is_refused(tmp_path):
    (tmp_path / "metrics.token").write_text("s3cret-token-for-metrics")
    (tmp_path / "metrics.token").chmod(0o644)
    config = load(tmp_path, '[monitoring]\nenabled = true\nmetrics_token_file = "metrics.token"\n')
    with pytest.raises(config_module.ConfigError, match="chmod 600"):
        config.metrics_token()
