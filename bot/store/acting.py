"""Which instance acts, where several share one PostgreSQL database (docs/design.md, "Availability beyond one
machine"; issue 21).

Every instance syncs; one acts — handles commands, runs deadlines, sends. It is the holder of an advisory lock on its
own database connection (`Database.try_acting_lock`): the lock lives as long as that connection, so when the
acting instance dies or the server gives its connection up (bot/store/postgres.py, KEEPALIVES), another instance can
take it.

A lock alone is not enough: an instance that was paused or cut off may not know yet that it lost the lock and write
on (after reconnecting, say). So each takeover raises a fencing epoch, stored in the one row of `acting`, and the
taker fences its connection with it: from then on each of its transactions first reads the epoch and is refused
(`Fenced`) once another instance raised it (bot/store/postgres.py). The old instance commits nothing more.

A paused instance (SIGSTOP, a frozen VM) keeps its connection, and so its lock: the kernel answers keepalives for
it. So the acting instance also beats (`beat`, a counter in the row, every second or so), and a standby that saw
the count stand still for `silent_after` seconds of its own clock ends the server process of the connection that
holds the lock, and takes over.
The count, not a time, is compared: the machines' clocks need not agree.

On SQLite one process has the database to itself: `take` always succeeds and nothing is fenced, at no cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.store.db import Database


@dataclass(frozen=True)
class Holder:
    epoch: int  # raised at every takeover; 0 before the first
    holder: str  # who took it: the instance's name (its device id, say)
    since: float  # when, by the taker's clock
    beats: int  # raised by the holder while it acts


class Acting:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock
        self.epoch: int | None = None  # ours, while we act
        self._seen: tuple[int, int] | None = None  # (epoch, beats) of the holder, as a standby last saw them change
        self._seen_at = 0.0

    def take(self, holder: str, silent_after: float | None = None) -> bool:
        """Act, if no other instance does: take the lock, raise the epoch and fence this connection with it. True if
        this instance acts now; False while another holds the lock (call again, every second or so). With
        `silent_after`, a holder whose beats stood still that long is cut off first and its lock taken."""
        if self.db.dialect == "sqlite":
            return True
        if self.db.try_acting_lock():
            self._take_over(holder)
            return True
        if silent_after is None or not self._silent(silent_after):
            return False
        self.db.end_acting_holder()
        if not self.db.try_acting_lock():
            return False
        self._take_over(holder)
        return True

    def _silent(self, silent_after: float) -> bool:
        now, last = self.clock(), self.current()
        if (last.epoch, last.beats) != self._seen:
            self._seen, self._seen_at = (last.epoch, last.beats), now
            return False
        return now - self._seen_at >= silent_after

    def _take_over(self, holder: str) -> None:
        self.db.fence(None)  # an epoch of an earlier turn must not refuse the takeover itself
        # Its BEGIN waits for the transaction in flight, which read the old epoch (one transaction at a time, as on
        # SQLite: bot/store/postgres.py): each old transaction commits wholly before the takeover, or not at all.
        with self.db.transaction():
            row = self.db.execute("UPDATE acting SET epoch = epoch + 1, holder = ?, since = ?, beats = 0 WHERE id = 1"
                                  " RETURNING epoch", [holder, self.clock()]).fetchone()
        self.epoch = int(row[0])
        self._seen = None
        self.db.fence(self.epoch)

    def beat(self) -> None:
        """The acting instance is alive. Refused (`Fenced`) once another took over: the runtime's cue to stop."""
        if self.db.dialect == "sqlite":
            return
        with self.db.transaction():
            self.db.execute("UPDATE acting SET beats = beats + 1 WHERE id = 1")

    def hand_over(self) -> None:
        """This instance stops on purpose (a deploy, a reboot): the holder's name is cleared, so the next taker knows
        nobody died. The lock itself goes with the connection, when the store is closed."""
        if self.db.dialect == "sqlite" or self.epoch is None:
            return
        with self.db.transaction():
            self.db.execute("UPDATE acting SET holder = '' WHERE id = 1")

    def current(self) -> Holder:
        """Who took the lock last, and when (the holder may have died since)."""
        row = self.db.execute("SELECT epoch, holder, since, beats FROM acting WHERE id = 1").fetchone()
        return Holder(int(row[0]), str(row[1]), float(row[2]), int(row[3]))
