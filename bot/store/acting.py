"""Which instance acts, where several share one PostgreSQL database (docs/design.md, "Availability beyond one
machine"; issue 21).

Every instance syncs; one acts — handles commands, runs deadlines, sends. It is the holder of an advisory lock on its
own database connection (`Database.try_acting_lock`): the lock lives as long as that connection, so when the
acting instance dies or loses the database, the server frees it and another instance can take it.

A lock alone is not enough: an instance that was paused or cut off may not know yet that it lost the lock and write
on (after reconnecting, say). So each takeover raises a fencing epoch, stored in the one row of `acting`, and the
taker fences its connection with it: from then on each of its transactions first reads the epoch and is refused
(`Fenced`) once another instance raised it (bot/store/postgres.py). The old instance commits nothing more.

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
    since: float  # when


class Acting:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock
        self.epoch: int | None = None  # ours, while we act

    def take(self, holder: str) -> bool:
        """Act, if no other instance does: take the lock, raise the epoch and fence this connection with it. True if
        this instance acts now; False while another holds the lock (try again later)."""
        if self.db.dialect == "sqlite":
            return True
        if not self.db.try_acting_lock():
            return False
        self.db.fence(None)  # an epoch of an earlier turn must not refuse the takeover itself
        with self.db.transaction():
            # After the transactions in flight that read the epoch (they hold ACCESS SHARE on the table to their end),
            # before any that would read it next: each old transaction commits wholly before the takeover, or not.
            self.db.execute("LOCK TABLE acting IN ACCESS EXCLUSIVE MODE")
            row = self.db.execute("UPDATE acting SET epoch = epoch + 1, holder = ?, since = ? WHERE id = 1"
                                  " RETURNING epoch", [holder, self.clock()]).fetchone()
        self.epoch = int(row[0])
        self.db.fence(self.epoch)
        return True

    def current(self) -> Holder:
        """Who took the lock last, and when (the holder may have died since)."""
        row = self.db.execute("SELECT epoch, holder, since FROM acting WHERE id = 1").fetchone()
        return Holder(int(row[0]), str(row[1]), float(row[2]))
