"""The duty gauges of /metrics, computed when scraped: gaps in the rosters ahead, readiness, check-ins, handovers,
pages past their deadline and the homeserver's state.

Each is one small query of the store, except the roster gaps: those are worked out from the roster in force for
the next 48 hours, so the answer is kept for a minute (a scrape every 15 s must not redo it) and dropped when the
rosters are reloaded. Times of the store are the App's clock; the homeserver's are time.time(), as bot/matrix has
them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.matrix.port import Health
from bot.readiness.report import ASSESSED_KEY
from bot.store import Store
from bot.watch.metrics import DutyReadings
from rosters import Roster, find_gaps

GAPS_AHEAD = timedelta(hours=48)
GAPS_KEPT_S = 60.0


class DutyFigures:
    def __init__(self, store: Store, roster: Callable[[], Roster], health: Callable[[], Health],
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.roster = roster
        self.health = health
        self.clock = clock
        self.started_at = time.time()
        self._gaps: tuple[float, int, float] | None = None  # (computed at, count, seconds)

    def readings(self) -> DutyReadings:
        return DutyReadings(
            roster_gaps=lambda: self._roster_gaps()[0],
            roster_gap_seconds=lambda: self._roster_gaps()[1],
            readiness_problems=lambda: self._readiness().get("problems", 0.0),
            readiness_assessed=lambda: self._readiness().get("at", 0.0),
            checkins_unanswered=lambda: self.store.checkins.unanswered(self.clock()),
            handovers_waiting=lambda: self.store.handovers.waiting_since()[0],
            handover_oldest_waiting=self._oldest_handover,
            pages_overdue=lambda: self.store.outbox.pages_overdue(self.clock()),
            homeserver_up=lambda: 1.0 if self.health().homeserver == "ok" else 0.0,
            homeserver_silent=lambda: time.time() - (self.health().last_answer_at or self.started_at),
        )

    def forget(self) -> None:
        """The rosters changed: the next scrape works the gaps out anew."""
        self._gaps = None

    def _roster_gaps(self) -> tuple[int, float]:
        now = self.clock()
        if self._gaps is None or not 0 <= now - self._gaps[0] < GAPS_KEPT_S:
            start = datetime.fromtimestamp(now, UTC)
            gaps = find_gaps(self.roster(), start, start + GAPS_AHEAD, self.store.overrides.active())
            self._gaps = (now, len(gaps), sum((gap.end - gap.start).total_seconds() for gap in gaps))
        return self._gaps[1], self._gaps[2]

    def _readiness(self) -> dict[str, float]:
        value = self.store.meta.get(ASSESSED_KEY)
        return {} if value is None else {k: float(v) for k, v in json.loads(value).items()}

    def _oldest_handover(self) -> float:
        _, oldest = self.store.handovers.waiting_since()
        return 0.0 if oldest is None else max(0.0, self.clock() - oldest)
