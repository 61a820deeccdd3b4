"""Figures for Prometheus: what happened to alarms, how long acceptance took, how the outbox and the sync are doing.

Alarms are counted only in aggregate, by what happened to them since the start (raised, accepted, …): no figure says
how many are open now, or anything of one alarm, to whoever can read the port.

One registry per App (not prometheus_client's global one), so two bots in one process — as in the tests — never
count into each other; the process and platform collectors (CPU, memory, open files, Python version) are added to it
as the global registry would have them. Gauges that describe the present are read when scraped, from the store and
the boundary. No label carries a name, a room or an alarm's text: the duty gauges are bare counts, and what is behind
a count is for `jourbot roster check`, `!jour` or the browser view to say (bot/deploy/alerts.yml points there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

# Minutes matter here: how long a child waited for someone to take the alarm.
ACCEPT_BUCKETS = (15, 30, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1800, float("inf"))
# Here fractions of a second: the bot's own share of a page is a few hops.
PAGE_BUCKETS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, float("inf"))


@dataclass(frozen=True)
class DutyReadings:
    """Read when scraped (bot/watch/figures.py computes them); each is the gauge of the same name in Metrics."""

    roster_gaps: Callable[[], float]
    roster_gap_seconds: Callable[[], float]
    readiness_problems: Callable[[], float]
    readiness_assessed: Callable[[], float]
    checkins_unanswered: Callable[[], float]
    handovers_waiting: Callable[[], float]
    handover_oldest_waiting: Callable[[], float]
    pages_overdue: Callable[[], float]
    homeserver_up: Callable[[], float]
    homeserver_silent: Callable[[], float]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
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
        self.pages_late = Counter(
            "jourbot_pages_late", "Pages not delivered by their deadline (alarms.page_delivery_s): the alarm moved on"
            " without that person.", registry=self.registry)
        # Instances sharing a PostgreSQL database (bot/ha/): which one acts, how often another took over, and what
        # went twice because of it.
        self.acting = Gauge("jourbot_acting", "1 while this instance acts (handles commands, runs deadlines, sends),"
                            " 0 while it stands by.", registry=self.registry)
        self.takeovers = Counter("jourbot_takeovers", "Times this instance took over acting from another.",
                                 registry=self.registry)
        self.resent_after_takeover = Counter(
            "jourbot_resent_after_takeover", "Messages sent again, marked as a repeat, because the instance acting"
            " before had started sending them when it stopped.", registry=self.registry)
        # The duty ahead and behind: what an operator is asked to look at before someone needs the bot.
        gauge = self._gauge
        self.roster_gaps = gauge("jourbot_roster_gaps_48h", "Stretches within the next 48 hours when an area has no"
                                 " primary on call (the roster in force, overrides and leave included).")
        self.roster_gap_seconds = gauge("jourbot_roster_gap_seconds_48h", "Those stretches' length, added up.")
        self.readiness_problems = gauge("jourbot_readiness_problems", "People on the coming days' rosters who cannot"
                                        " surely be reached, as the last daily readiness report found.")
        self.readiness_assessed = gauge("jourbot_readiness_assessed_timestamp_seconds",
                                        "When that report assessed the rosters (0: never).")
        self.checkins_unanswered = gauge("jourbot_checkins_unanswered",
                                         "Check-ins of shifts still running that were not answered in time.")
        self.handovers_waiting = gauge("jourbot_handovers_waiting",
                                       "Alarms listed to a district office and not yet received (!mottaget).")
        self.handover_oldest_waiting = gauge("jourbot_handover_oldest_waiting_seconds",
                                             "Since the oldest of those was listed (0: none waits).")
        self.pages_overdue = gauge("jourbot_pages_overdue",
                                   "Pages still waiting to be sent past their delivery deadline.")
        self.homeserver_up = gauge("jourbot_homeserver_up", "1 while the homeserver answers the bot's syncs and"
                                   " requests, else 0 (starting, unreachable, session revoked).")
        self.homeserver_silent = gauge("jourbot_homeserver_silent_seconds", "Since the homeserver last answered"
                                       " anything (a sync, a send, a probe), or since the start if it has not yet.")

    def _gauge(self, name: str, documentation: str) -> Gauge:
        return Gauge(name, documentation, registry=self.registry)

    def watch(self, outbox_depth: Callable[[], float], oldest_undelivered: Callable[[], float],
              sync_lag: Callable[[], float]) -> None:
        """Read these when scraped."""
        self.outbox_depth.set_function(outbox_depth)
        self.oldest_undelivered.set_function(oldest_undelivered)
        self.sync_lag.set_function(sync_lag)

    def watch_duty(self, readings: DutyReadings) -> None:
        """Read these when scraped: each reading sets the gauge of its name."""
        for reading in fields(readings):
            gauge = getattr(self, reading.name)
            assert isinstance(gauge, Gauge)
            gauge.set_function(getattr(readings, reading.name))

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
