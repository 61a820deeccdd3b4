"""The store is the timer; APScheduler only wakes the bot early.

Escalation deadlines and page delivery deadlines are rows in the store. One APScheduler job is armed for the earliest
of them, re-armed after every commit that changed them (never before: a rolled-back change must not move a timer),
and a sweep every `interval` seconds finds anything due that a lost wake-up missed. Whatever fires, the same sweep
runs: it reads what is due from the store, so a duplicate or early wake-up does nothing.

APScheduler runs on the real clock while the bot's clock is injected (tests move it); a wake-up is therefore armed
at "now + how long until it is due on the bot's clock".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

WAKE = "wake"
SWEEP = "sweep"


class Timers:
    def __init__(self, next_due: Callable[[], float | None], sweep: Callable[[], Awaitable[None]],
                 clock: Callable[[], float], interval: float = 1.0) -> None:
        self._next_due = next_due
        self._sweep = sweep
        self._clock = clock
        self._interval = interval
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._started = False
        self._armed_for: float | None = None
        self._rearm_asked = False

    def start(self) -> None:
        if self._started:
            return
        self._scheduler.start()
        self._started = True
        self._scheduler.add_job(self._tick, IntervalTrigger(seconds=self._interval, timezone=UTC), id=SWEEP,
                                replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=None)
        self.rearm()

    def shutdown(self) -> None:
        if self._started:
            self._scheduler.shutdown(wait=False)
            self._started = False

    def rearm(self) -> None:
        """Wake at the earliest instant the store says something is due; call after a commit that changed it."""
        if not self._started:
            return
        due = self._next_due()
        if due == self._armed_for and self._scheduler.get_job(WAKE) is not None:
            return
        self._armed_for = due
        if due is None:
            if self._scheduler.get_job(WAKE) is not None:
                self._scheduler.remove_job(WAKE)
            return
        run_at = datetime.now(UTC) + timedelta(seconds=max(0.0, due - self._clock()))
        self._scheduler.add_job(self._tick, DateTrigger(run_date=run_at, timezone=UTC), id=WAKE,
                                replace_existing=True, misfire_grace_time=None, coalesce=True)

    def rearm_soon(self) -> None:
        """`rearm`, after a commit: once the loop turns, once for every commit until then. A commit that queued a
        page wakes the sender first, and its send must not wait for the store's six queries for what is due next
        (nor for them four times, one per kind of deadline the commit changed)."""
        if not self._started or self._rearm_asked:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.rearm()
            return
        self._rearm_asked = True
        loop.call_soon(self._rearm_asked_for)

    def _rearm_asked_for(self) -> None:
        self._rearm_asked = False
        try:
            self.rearm()
        except Exception:  # the interval sweep still runs, and rearms after it
            log.exception("re-arming the timers after a commit failed")

    def wake_at(self) -> datetime | None:
        """When the wake-up job will run (real clock), for tests and health."""
        job = self._scheduler.get_job(WAKE) if self._started else None
        return None if job is None else job.next_run_time

    def remove_wake(self) -> None:
        """Drop the armed wake-up, as a lost job would be (for tests of the sweep)."""
        if self._started and self._scheduler.get_job(WAKE) is not None:
            self._scheduler.remove_job(WAKE)

    async def _tick(self) -> None:
        self._armed_for = None  # the one-shot wake-up is spent (or this is the interval sweep): arm anew below
        try:
            await self._sweep()
        except Exception:  # the next tick tries again; a dead timer is a lost escalation
            log.exception("sweep of due deadlines failed")
        self.rearm()
