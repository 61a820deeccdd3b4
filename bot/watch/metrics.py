"""Figures for Prometheus: what happened to alarms, how long acceptance took, how the outbox and the sync are doing.

Alarms are counted only in aggregate, by what happened to them since the start (raised, accepted, …): no figure says
how many are open now, or anything of one alarm, to whoever can read the port.

One registry per App (not prometheus_client's global one), so two bots in one process — as in the tests — never
count into each other. Gauges that describe the present are read when scraped, from the store and the boundary.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Minutes matter here: how long a child waited for someone to take the alarm.
ACCEPT_BUCKETS = (15, 30, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1800, float("inf"))
# Here fractions of a second: the bot's own share of a page is a few hops.
PAGE_BUCKETS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, float("inf"))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.transitions = Counter(
            "jourbot_alarm_transitions", "Alarm state changes, by what happened (raised, escalated, accepted, …).",
            ["event"], registry=self.registry)
        self.time_to_accept = Histogram(
            "jourbot_time_to_accept_seconds", "From an alarm's raise to its acceptance.", buckets=ACCEPT_BUCKETS,
            registry=self.registry)
        self.send_failures = Counter(
            "jourbot_send_failures", "Messages the homeserver did not take, by failure class.", ["reason"],
            registry=self.registry)
        self.outbox_depth = Gauge("jourbot_outbox_depth", "Messages waiting to be sent.", registry=self.registry)
        self.oldest_undelivered = Gauge(
            "jourbot_oldest_undelivered_seconds", "Age of the oldest message still waiting to be sent (0: none).",
            registry=self.registry)
        self.sync_lag = Gauge("jourbot_sync_lag_seconds", "Seconds since the last successful sync.",
                              registry=self.registry)
        self.page_delivery = Histogram(
            "jourbot_page_delivery_seconds", "From an alarm's raise to its first page accepted by the homeserver.",
            buckets=PAGE_BUCKETS, registry=self.registry)
        self.loop_lag = Gauge(
            "jourbot_event_loop_lag_seconds", "How late the event loop last ran a timer it had been asked to (a busy"
            " or blocked loop delays every page).", registry=self.registry)
        self.sms_outcomes = Counter(
            "jourbot_sms", "SMS to the gateway, by outcome (sent, retried, rejected, dropped) and failure class.",
            ["outcome", "reason"], registry=self.registry)

    def watch(self, outbox_depth: Callable[[], float], oldest_undelivered: Callable[[], float],
              sync_lag: Callable[[], float]) -> None:
        """Read these when scraped."""
        self.outbox_depth.set_function(outbox_depth)
        self.oldest_undelivered.set_function(oldest_undelivered)
        self.sync_lag.set_function(sync_lag)

    def transition(self, event: str, accepted_after_s: float | None = None) -> None:
        self.transitions.labels(event=event).inc()
        if accepted_after_s is not None:
            self.time_to_accept.observe(accepted_after_s)

    def page_delivered(self, after_s: float) -> None:
        self.page_delivery.observe(max(0.0, after_s))

    def send_failed(self, reason: str) -> None:
        self.send_failures.labels(reason=reason).inc()

    def sms(self, outcome: str, reason: str = "") -> None:
        self.sms_outcomes.labels(outcome=outcome, reason=reason).inc()

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))
