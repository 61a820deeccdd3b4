"""Escalation deadlines ↔ APScheduler.

The store holds every deadline; the scheduler only wakes us. APScheduler's own job stores drop a one-shot job that
misses its grace time, remove a job as it is handed to the executor and pickle arguments in the clear, so nothing
true lives there: on start every open deadline is re-armed from the store, and one already past fires at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

log = logging.getLogger(__name__)

Fire = Callable[[str], Awaitable[None]]


class Timers:
    def __init__(self, fire: Fire) -> None:
        self._fire = fire
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._scheduler.start()
            self._started = True

    def shutdown(self) -> None:
        if self._started:
            self._scheduler.shutdown(wait=False)
            self._started = False

    def arm(self, alarm_id: str, at: datetime) -> None:
        """Wake at `at` (UTC); a past instant fires at once. Re-arming replaces the earlier wake-up."""
        now = datetime.now(UTC)
        self._scheduler.add_job(
            self._fire,
            DateTrigger(run_date=max(at, now), timezone=UTC),
            args=[alarm_id],  # an id only: the truth stays in the store
            id=alarm_id,
            replace_existing=True,
            misfire_grace_time=None,  # late is better than never
            coalesce=True,
        )

    def disarm(self, alarm_id: str) -> None:
        job = self._scheduler.get_job(alarm_id)
        if job is not None:
            job.remove()

    def armed(self) -> dict[str, datetime]:
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}
