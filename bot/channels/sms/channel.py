"""When a page goes out by SMS as well, and the loop that hands SMS to the gateway.

An SMS is queued (in the store, inside the transaction that decided it) when
- Matrix could not deliver a page (a permanent failure, or not delivered in time: the person is "unreachable");
- a delivered page was not read within `unseen_after_s` while the alarm still waits for its reader;
- an alarm falls back to the supervisors (nobody took it): each supervisor gets one too.
One SMS per person and alarm for a page, one per supervisor and alarm for the fallback: the key says so.

Sending is store-driven like the outbox: a restart loses nothing; a transient failure (timeout, network, 5xx) is
tried again with backoff while the alarm still needs it; a refusal (4xx: most often a wrong number) is never tried
again. The supervisors are told in chat the first time an SMS fails and when one is refused. A gateway that took a
message is recorded at once, so it is not sent twice; only a lost answer (a timeout) can lead to a second copy,
which for a page is the better mistake.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.alarm.machine import Alarm
from bot.alarm.service import AlarmService
from bot.channels.outbox import Origin, Outbox
from bot.channels.sms.gateway import SmsFailure
from bot.core.effects import SendUser
from bot.core.i18n import t
from bot.matrix.port import backoff
from bot.store import Store
from bot.store.sms import NewSms, SmsRow
from bot.watch.metrics import Metrics
from rosters.phones import spoken_phone

log = logging.getLogger(__name__)


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
    retry_cap_s: float = 60.0


class SecondChannel:
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
        self._wake = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}  # SMS id → its send: never two sends of one SMS at once

    # --- deciding (inside the caller's transaction) ----------------------------------------------------------------
    def page_failed(self, alarm_id: str, user: str, reason: str, at: float) -> None:
        alarm = self.alarms.get(alarm_id)
        if alarm is not None and alarm.awaiting and user in alarm.pending:
            self._queue_page(alarm, user, "unreachable", at)

    def sweep_unseen(self, now: float) -> None:
        """Pages not read in time: by SMS as well, if their alarm still waits for that reader."""
        for page in self.store.page_watch.unseen_due(now):
            self.store.page_watch.unseen_handled(page.event_id)
            alarm = self.alarms.get(page.alarm_id)
            if alarm is not None and alarm.awaiting and page.user_id in alarm.pending:
                self._queue_page(alarm, page.user_id, "unseen", now)

    def next_due(self) -> float | None:
        return self.store.page_watch.next_unseen_due()

    def on_alarm_change(self, alarm: Alarm, event: str) -> None:
        """Follows every stored change of an alarm: a fallback to the supervisors goes to their phones too."""
        if alarm.status != "exhausted" or alarm.fallback_at is None:
            return
        text = t("runtime.sms.fallback", self.settings.lang, id=alarm.id, area=alarm.area_name)
        for user in alarm.supervisors:
            self._queue(alarm, user, text, "fallback", f"fallback:{alarm.id}:{user}", self.clock())

    def _queue_page(self, alarm: Alarm, user: str, why: str, now: float) -> None:
        text = t("runtime.sms.page", self.settings.lang, id=alarm.id, area=alarm.area_name)
        self._queue(alarm, user, text, why, f"page:{alarm.id}:{user}", now)

    def _queue(self, alarm: Alarm, user: str, text: str, why: str, key: str, now: float) -> None:
        phone = self.phone_of(user)
        if not phone:
            log.info("alarm %s: no SMS to %s (%s): no phone number in the people file", alarm.id, user, why)
            return
        if self.store.sms.add(NewSms(key, alarm.id, user, phone, text, why), now):
            log.info("alarm %s: SMS to %s queued (%s)", alarm.id, user, why)

    # --- sending ---------------------------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self.send_due()
                except Exception:  # the sender must outlive any one failure
                    log.exception("SMS round failed; trying again")
                next_at = self.store.sms.next_attempt_at()
                wait = 30.0 if next_at is None else min(30.0, max(0.05, next_at - self.clock()))
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            for task in list(self._in_flight.values()):
                task.cancel()
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            await self.gateway.close()

    async def send_due(self) -> None:
        """Hand every SMS that is due to the gateway, at once, and wait until every send under way has ended."""
        for row in self.store.sms.due(self.clock()):
            if row.id not in self._in_flight:
                self._in_flight[row.id] = asyncio.create_task(self._send_once(row), name=f"sms {row.id}")
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _send_once(self, row: SmsRow) -> None:
        try:
            await self._send(row)
        finally:
            self._in_flight.pop(row.id, None)

    async def _send(self, row: SmsRow) -> None:
        alarm = self.alarms.get(row.alarm_id)
        if alarm is None or not self._still_needed(alarm, row):
            with self.store.transaction():
                self.store.sms.finished(row.id, "dropped", "the alarm no longer needs it")
            self.metrics.sms("dropped")
            return
        try:
            gateway_id = await self.gateway.send(row.phone, row.text)
        except SmsFailure as failure:
            self._failed(alarm, row, failure)
            return
        with self.store.transaction():
            self.store.sms.sent(row.id, gateway_id, self.clock())
            self.store.audit.append("sms", "sms.sent", alarm.id, {"user": row.user_id, "why": row.why})
        self.metrics.sms("sent")
        log.info("alarm %s: SMS to %s sent (%s)", alarm.id, row.user_id, row.why)

    def _still_needed(self, alarm: Alarm, row: SmsRow) -> bool:
        if row.why == "fallback":
            return alarm.awaiting
        # A page read in Element while its SMS waited for a retry needs no SMS any more.
        return alarm.awaiting and row.user_id in alarm.pending and row.user_id not in self.alarms.seen(alarm.id)

    def _failed(self, alarm: Alarm, row: SmsRow, failure: SmsFailure) -> None:
        lang = self.settings.lang
        name = alarm.name_of(row.user_id)
        reason = reason_text(failure.reason, lang)
        with self.store.transaction():
            if failure.permanent:
                self.store.sms.finished(row.id, "failed", str(failure))
                self.store.audit.append("sms", "sms.refused", alarm.id,
                                        {"user": row.user_id, "why": row.why, "reason": failure.reason})
                text = t("runtime.sms.rejected", lang, id=alarm.id, name=name, phone=spoken_phone(row.phone),
                         reason=reason)
                self._tell_supervisors(alarm, text, f"sms:{row.key}:rejected")
            else:
                delay = backoff(row.attempts + 1, 2.0, self.settings.retry_cap_s)
                self.store.sms.retry_at(row.id, self.clock() + delay, str(failure), reported=True)
                if not row.reported:  # the first failure of this SMS; its retries are not audited one by one
                    self.store.audit.append("sms", "sms.failed", alarm.id,
                                            {"user": row.user_id, "why": row.why, "reason": failure.reason})
                    text = t("runtime.sms.retrying", lang, id=alarm.id, name=name, reason=reason)
                    self._tell_supervisors(alarm, text, f"sms:{row.key}:retrying")
        self.metrics.sms("rejected" if failure.permanent else "retried", failure.reason)
        log.warning("alarm %s: SMS to %s failed (attempt %d, %s)%s", alarm.id, row.user_id, row.attempts + 1,
                    failure.reason, "" if failure.permanent else "; will retry")

    def _tell_supervisors(self, alarm: Alarm, text: str, cause: str) -> None:
        self.outbox.queue([SendUser(s, text, alarm=alarm.id) for s in alarm.supervisors], Origin(cause))
