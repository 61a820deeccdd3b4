"""Whether this instance acts: the standby's tries at the acting lock, the acting instance's beat, and the end of
acting when the database says another instance acts now (bot/store/acting.py).

A standby tries to take the lock every TRY_EVERY_S; it takes over when the lock is free (the acting instance died or
its connection was ended) or when the holder's beats stood still for `silent_after` seconds (a paused machine).
The acting instance beats every BEAT_EVERY_S. A refused beat (`Fenced`: another instance took over) or a database
that cannot be reached ends acting at once: the instance cannot show it still holds the lock, so it may not send one
more message; it exits non-zero, and its service manager starts it again, as a standby.
"""

from __future__ import annotations

import asyncio
import logging

from bot.store.acting import Acting
from bot.watch.metrics import Metrics

log = logging.getLogger(__name__)

TRY_EVERY_S = 1.0
BEAT_EVERY_S = 1.0


class LostActing(Exception):
    """This instance may act no more: another took over, or the database that says who acts is out of reach."""


class Role:
    def __init__(self, acting: Acting, silent_after: float, metrics: Metrics) -> None:
        self.store_acting = acting
        self.silent_after = silent_after
        self.metrics = metrics
        self.instance = ""  # the name this instance takes the lock under (its device id), set once logged in
        self.acting = False
        self.took_from = ""  # the instance that acted before this one took over ("" at a first start, or itself)
        self.lost = asyncio.Event()  # set when acting ended: the runtime stops
        self.working = asyncio.Event()  # set once the runtime acts: backlog handled, deadlines and sender running
        self.why_lost = ""

    @property
    def shared(self) -> bool:
        """Whether other instances may share the database (PostgreSQL); on SQLite this one acts from the start."""
        return self.store_acting.db.dialect != "sqlite"

    @property
    def name(self) -> str:
        """What /healthz calls this instance's part."""
        return "acting" if self.acting else "standing_by"

    def try_once(self) -> bool:
        """One try at the lock; True once this instance acts."""
        if self.acting:
            return True
        before = self.store_acting.current().holder if self.shared else ""
        if not self.store_acting.take(self.instance, silent_after=self.silent_after):
            return False
        self.acting = True
        self.metrics.acting.set(1)
        if before and before != self.instance:
            self.took_from = before
            self.metrics.takeovers.inc()
            log.warning("took over acting from instance %s (fencing epoch %s)", before, self.store_acting.epoch)
        else:  # a first start, a restart of this same instance, or one that stopped on purpose before
            log.info("acting (fencing epoch %s)", self.store_acting.epoch)
        return True

    async def until_acting(self, stop: asyncio.Event) -> bool:
        """Stand by until this instance acts (at once on SQLite); False if told to stop first."""
        while not stop.is_set():
            try:
                if self.try_once():
                    return True
            except Exception as err:  # the database away: a standby keeps trying, a new connection at a time
                log.warning("standing by: cannot reach the database to try the acting lock (%s)", err)
                try:
                    self.store_acting.db.reconnect()
                except Exception as again:
                    log.debug("reconnecting failed: %s", again)
            try:
                await asyncio.wait_for(stop.wait(), TRY_EVERY_S)
            except TimeoutError:
                pass
        return False

    async def beat_while_acting(self, stop: asyncio.Event) -> None:
        """Beat until `stop`; raises LostActing once a beat is refused or cannot be stored."""
        while not stop.is_set():
            try:
                self.store_acting.beat()
            except Exception as err:
                self.lose(f"its heartbeat could not be stored ({type(err).__name__}: {err})")
                raise LostActing(self.why_lost) from err
            try:
                await asyncio.wait_for(stop.wait(), BEAT_EVERY_S)
            except TimeoutError:
                pass

    def lose(self, why: str) -> None:
        """Acting ends here and now (a refused transaction anywhere calls this as the beat does)."""
        if not self.acting:
            return
        self.acting = False
        self.metrics.acting.set(0)
        self.why_lost = f"stopped acting, sending nothing more: {why}"
        log.error(self.why_lost)
        self.lost.set()
