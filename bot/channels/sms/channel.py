"""The SMS channel: when a page goes out by SMS as well, and what handing one to the gateway means.

An SMS is queued (an outbox row for the target kind "sms", inside the transaction that decided it) when
- Matrix could not deliver a page (a permanent failure, or not delivered in time: the person is "unreachable");
- a delivered page was not read within `unseen_after_s` while the alarm still waits for its reader;
- an alarm falls back to the supervisors (nobody took it): each supervisor gets one too.
One SMS per person and alarm for a page, one per supervisor and alarm for the fallback: the row's cause says so, and
a cause queues once (`Outbox.queue_once`).

The sender (bot/channels/sender.py) carries it like every message: stored, so a restart loses nothing; in order per
person; a transient failure (timeout, network, 5xx) tried again with backoff while the alarm still needs it; a refusal
(4xx: most often a wrong number) never tried again. What is this module's:
- `deliver`: an SMS its alarm no longer needs (the page was read, the alarm taken) is dropped, not sent;
- the listener: the supervisors are told in chat the first time an SMS fails and when one is refused; sent, failed
  and refused are audited (never the text or the number); a page Matrix could not deliver goes by SMS.
A gateway that took a message is recorded at once, so it is not sent twice; only a lost answer (a timeout) can lead
to a second copy, which for a page is the better mistake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.alarm.machine import Alarm
from bot.alarm.service import AlarmService
from bot.channels.channel import DROPPED
from bot.channels.outbox import ALARM, Outbox
from bot.channels.sms.gateway import SmsFailure
from bot.core.effects import Effect, SendUser
from bot.core.i18n import t
from bot.matrix.port import DeliveryFailure
from bot.store import NewMessage, OutboxRow, Store
from bot.store.outbox import alarm_purpose
from bot.watch.metrics import Metrics

log = logging.getLogger(__name__)

TARGET = "sms"  # the outbox rows' target kind; the target is the person, so their SMS keep their order
DELIVER_WITHIN_S = 900.0  # past it the sender logs it as overdue, and goes on trying while the alarm needs it

REASONS = {  # a failure class → its words, also for the browser view
    "timeout": "runtime.sms.reason.timeout",
    "network": "runtime.sms.reason.network",
    "server": "runtime.sms.reason.server",
    "rejected": "runtime.sms.reason.rejected",
}


def reason_text(reason: str, lang: str) -> str:
    return t(REASONS.get(reason, "runtime.sms.reason.server"), lang)


class Gateway(Protocol):
    async def send(self, to: str, text: str) -> str: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class ChannelSettings:
    lang: str


@dataclass(frozen=True)
class Sms:
    """An outbox row of the SMS channel, read."""

    alarm_id: str
    user_id: str
    phone: str
    text: str
    why: str  # "unreachable" | "unseen" | "fallback"

    @staticmethod
    def of(row: OutboxRow) -> Sms:
        content = row.content
        return Sms(row.alarm_id or "", row.target, str(content.get("phone", "")), str(content.get("text", "")),
                   str(content.get("why", "")))


@dataclass(frozen=True)
class SmsOutcome:
    """What became of one SMS of an alarm, for the browser view: never its text or the number it went to."""

    user_id: str
    why: str
    status: str  # "pending" | "sent" | "failed" | "dropped"
    attempts: int
    created_at: float
    sent_at: float | None
    failure: str  # the last failure's class ("timeout", "network", "server", "rejected"), or ""


def outcomes(store: Store, alarm_id: str) -> list[SmsOutcome]:
    """Every SMS of `alarm_id`, oldest first."""
    return [SmsOutcome(o.row.target, str(o.row.content.get("why", "")), o.status, o.row.attempts, o.row.created_at,
                       o.sent_at, o.failure)
            for o in store.outbox.outcomes(TARGET, alarm_purpose(alarm_id))]


class SmsChannel:
    lane = "sms"  # the gateway, not the homeserver: it takes no slot a page needs (bot/channels/channel.py)

    def __init__(self, store: Store, alarms: AlarmService, outbox: Outbox, gateway: Gateway,
                 phone_of: Callable[[str], str | None], clock: Callable[[], float], settings: ChannelSettings,
                 metrics: Metrics) -> None:
        self.store = store
        self.alarms = alarms
        self.outbox = outbox
        self.gateway = gateway
        self.phone_of = phone_of
        self.clock = clock
        self.settings = settings
        self.metrics = metrics

    # --- deciding (inside the caller's transaction) ----------------------------------------------------------------
    def sweep_unseen(self, now: float) -> None:
        """Pages not read in time: by SMS as well, if their alarm still waits for that reader."""
        for page in self.store.page_watch.unseen_due(now):
            self.store.page_watch.unseen_handled(page.event_id)
            alarm = self.alarms.get(page.alarm_id)
            if alarm is not None and alarm.awaiting and page.user_id in alarm.pending:
                self._queue_page(alarm, page.user_id, "unseen")

    def next_due(self) -> float | None:
        return self.store.page_watch.next_unseen_due()

    def follow(self, alarm: Alarm, event: str) -> None:
        """Follows every stored change of an alarm: a fallback to the supervisors goes to their phones too."""
        if alarm.status != "exhausted" or alarm.fallback_at is None:
            return
        text = t("runtime.sms.fallback", self.settings.lang, id=alarm.id, area=alarm.area_name)
        for user in alarm.supervisors:
            self._queue(alarm, user, text, "fallback", f"fallback:{alarm.id}:{user}")

    def _queue_page(self, alarm: Alarm, user: str, why: str) -> None:
        text = t("runtime.sms.page", self.settings.lang, id=alarm.id, area=alarm.area_name)
        self._queue(alarm, user, text, why, f"page:{alarm.id}:{user}")  # unreachable and unseen: one SMS

    def _queue(self, alarm: Alarm, user: str, text: str, why: str, key: str) -> None:
        phone = self.phone_of(user)
        if not phone:
            log.info("alarm %s: no SMS to %s (%s): no phone number in the people file", alarm.id, user, why)
            return
        message = NewMessage(TARGET, user, {"phone": phone, "text": text, "why": why}, alarm_purpose(alarm.id),
                             ALARM, self.clock() + DELIVER_WITHIN_S, event_type=TARGET)
        if self.outbox.queue_once(message, f"sms:{key}"):
            log.info("alarm %s: SMS to %s queued (%s)", alarm.id, user, why)

    # --- the channel (the sender's) --------------------------------------------------------------------------------
    async def deliver(self, row: OutboxRow) -> str:
        sms = Sms.of(row)
        alarm = self.alarms.get(sms.alarm_id)
        if alarm is None or not self._still_needed(alarm, sms):
            self.metrics.sms("dropped")
            raise DeliveryFailure(DROPPED, "the alarm no longer needs it")
        try:
            gateway_id = await self.gateway.send(sms.phone, sms.text)
        except SmsFailure as failure:
            self.metrics.sms("rejected" if failure.permanent else "retried", failure.reason)
            log.warning("alarm %s: SMS to %s failed (attempt %d, %s)%s", alarm.id, sms.user_id, row.attempts + 1,
                        failure.reason, "" if failure.permanent else "; will retry")
            # The gateway's classes are the sender's: "rejected" is permanent, the rest transient.
            raise DeliveryFailure("rejected" if failure.permanent else failure.reason, failure.detail) from failure
        self.metrics.sms("sent")
        return gateway_id

    def _still_needed(self, alarm: Alarm, sms: Sms) -> bool:
        if sms.why == "fallback":
            return alarm.awaiting
        # A page read in Element while its SMS waited for a retry needs no SMS any more.
        return alarm.awaiting and sms.user_id in alarm.pending and sms.user_id not in self.alarms.seen(alarm.id)

    async def close(self) -> None:
        await self.gateway.close()

    # --- the listener (inside the sender's transaction) ------------------------------------------------------------
    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]:
        if row.target_kind == TARGET:
            sms = Sms.of(row)
            self.store.audit.append("sms", "sms.sent", sms.alarm_id, {"user": sms.user_id, "why": sms.why})
            log.info("alarm %s: SMS to %s sent (%s)", sms.alarm_id, sms.user_id, sms.why)
        return []

    def failing(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        """The first failure of an SMS (its retries are not audited or told one by one)."""
        alarm = self.alarms.get(row.alarm_id or "") if row.target_kind == TARGET else None
        if alarm is None:
            return []
        sms = Sms.of(row)
        self.store.audit.append("sms", "sms.failed", alarm.id, {"user": sms.user_id, "why": sms.why, "reason": reason})
        text = t("runtime.sms.retrying", self.settings.lang, id=alarm.id, name=alarm.name_of(sms.user_id),
                 reason=reason_text(reason, self.settings.lang))
        return self._to_supervisors(alarm, text)

    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        page = row.page
        if row.target_kind != TARGET:
            if page is not None:  # Matrix could not deliver a page: its person is unreachable there
                alarm = self.alarms.get(page[0])
                if alarm is not None and alarm.awaiting and row.target in alarm.pending:
                    self._queue_page(alarm, row.target, "unreachable")
            return []
        alarm = self.alarms.get(row.alarm_id or "")
        if alarm is None or reason == DROPPED:
            return []
        sms = Sms.of(row)
        self.store.audit.append("sms", "sms.refused", alarm.id, {"user": sms.user_id, "why": sms.why, "reason": reason})
        lang = self.settings.lang
        name = alarm.name_of(sms.user_id)
        text = t("runtime.sms.rejected", lang, id=alarm.id, name=name, phone=sms.phone,
                 reason=reason_text(reason, lang))
        return self._to_supervisors(alarm, text)

    def _to_supervisors(self, alarm: Alarm, text: str) -> list[Effect]:
        return [SendUser(s, text, alarm=alarm.id) for s in alarm.supervisors]
