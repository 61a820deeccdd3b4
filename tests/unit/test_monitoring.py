"""What /healthz calls healthy, and that /metrics is Prometheus' text format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.watch.health import HealthLimits, HealthReport, judge
from bot.watch.metrics import Metrics

LIMITS = HealthLimits(sync_age_s=120, undelivered_age_s=300, sweep_age_s=30)


def report(**changes: object) -> HealthReport:
    base: dict[str, object] = {"sync_age_s": 2.0, "outbox_depth": 0, "oldest_undelivered_s": None,
                               "last_sweep_age_s": 0.5, "homeserver": "ok"}
    return HealthReport(**{**base, **changes})  # type: ignore[arg-type]


def test_a_bot_doing_its_work_is_healthy():
    assert judge(report(), LIMITS).healthy


def test_each_thing_past_its_limit_is_named():
    assert judge(report(sync_age_s=600.0), LIMITS).problems == ["no successful sync recently"]
    assert judge(report(sync_age_s=None), LIMITS).problems == ["not synced yet"]
    assert "has waited 400 s" in judge(report(oldest_undelivered_s=400.0), LIMITS).problems[0]
    assert judge(report(last_sweep_age_s=None), LIMITS).problems == ["deadlines are not being swept"]
    assert judge(report(stopping="session revoked"), LIMITS).problems == ["session revoked"]
    # A homeserver that answers nothing — a refusal or a hang — is past its limit after homeserver_s (60 s).
    assert judge(report(homeserver_silent_s=59.0), LIMITS).healthy
    assert judge(report(homeserver_silent_s=61.0), LIMITS).problems == ["the homeserver has not answered for 61 s"]


def test_metrics_are_in_the_prometheus_text_format():
    metrics = Metrics()
    metrics.watch(lambda: 3, lambda: 12.5, lambda: 1.0)
    metrics.transition("raised")
    metrics.transition("accepted", accepted_after_s=95.0)
    metrics.send_failed("too_large")
    metrics.page_delivered(0.12)
    metrics.loop_lag.set(0.003)
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    assert {"jourbot_alarm_transitions", "jourbot_time_to_accept_seconds", "jourbot_send_failures",
            "jourbot_outbox_depth", "jourbot_sync_lag_seconds", "jourbot_page_delivery_seconds",
            "jourbot_event_loop_lag_seconds"} <= set(families)
    assert not [name for name in families if name.startswith("jourbot_") and "open" in name], \
        "no count of the alarms open now"
    depth = families["jourbot_outbox_depth"].samples[0].value
    accepted = [s for s in families["jourbot_alarm_transitions"].samples if s.labels.get("event") == "accepted"]
    assert depth == 3 and accepted[0].value == 1
