"""Reloading the rosters while the bot runs: on SIGHUP, when a roster file changes, or when the web view asks.

Whatever happens, the supervisors are told in their direct rooms: the new roster is in force, or it was refused,
why, and that the one in force stays. Each outcome is written to the audit trail with the folder's digest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from bot.channels.outbox import Origin, Outbox
from bot.core.effects import SendUser
from bot.core.i18n import listing, moment, t, tn
from bot.duty.live import Candidate, Started, digest, judge, read_folder, signature
from bot.store import RosterSnapshot, Store
from rosters import Leave, Override, Roster

log = logging.getLogger(__name__)

MAX_LISTED = 10  # problems listed in chat; `jourbot roster check` lists them all


class RosterReloader:
    def __init__(self, folder: Path, started: Started, store: Store, outbox: Outbox, clock: Callable[[], float],
                 supervisors: Callable[[], set[str]], overrides: Callable[[], Sequence[Override]], lang: str,
                 zone: Callable[[], tzinfo], leave: Callable[[], Sequence[Leave]] = tuple) -> None:
        self.folder = folder
        self.leave = leave  # made in the browser: a folder is judged with it, as it will be used
        self.on_reloaded: list[Callable[[], None]] = []  # told after a new roster is put in force
        self.roster: Roster = started.roster
        self.in_force = started.snapshot
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.supervisors = supervisors
        self.overrides = overrides
        self.lang = lang
        self.zone = zone
        self.seen = signature(folder)
        self.started_problems = started.problems if started.from_store else []
        if started.from_store:
            log.error("the rosters in %s cannot be used (%d problems); running on the last good roster, saved %s",
                      folder, len(started.problems), datetime.fromtimestamp(started.snapshot.saved_at, UTC).isoformat())
        self._last_refused = ""  # digest: a file watcher says it once per content, SIGHUP and the web every time
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[Candidate | None]] = set()
        if not started.from_store and (self.store.roster_snapshots.last() or _NONE).digest != started.snapshot.digest:
            with self.store.transaction():
                self.store.roster_snapshots.save(started.snapshot)

    def tell_started(self) -> None:
        """At a start on the stored roster: tell the supervisors why, and since when it is the one in force."""
        if not self.started_problems:
            return
        saved = datetime.fromtimestamp(self.in_force.saved_at, UTC).astimezone(self.zone())
        text = tn("roster.reload.started_on_stored", len(self.started_problems), self.lang, folder=self.folder,
                  problems=self._listed(self.started_problems), saved=moment(saved, self.lang, year=True))
        self._tell(text, f"roster-start:{self.clock()!r}")

    # -- triggers -------------------------------------------------------------------------------------------------

    def request(self, cause: str) -> None:
        """Reload soon, from a signal handler or any code outside a coroutine."""
        task = asyncio.get_running_loop().create_task(self.reload(cause))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def poll(self) -> None:
        """Reload if a roster file was saved, added or removed since the folder was last read."""
        if signature(self.folder) != self.seen:
            await self.reload("file")

    async def reload(self, cause: str = "web") -> Candidate | None:
        """Read the folder and put it in force if it passes; tell the supervisors either way.

        Returns the judged folder, or None when its files are those in force already. The web view calls this."""
        async with self._lock:
            self.seen = signature(self.folder)
            files = read_folder(self.folder)
            now = datetime.fromtimestamp(self.clock(), UTC)
            if digest(files) == self.in_force.digest:
                if self.started_problems:  # put back as it was when last in force: usable again
                    self.started_problems = []
                    text = t("roster.reload.usable_again", self.lang, folder=self.folder,
                             time=now.astimezone(self.zone()).strftime("%H:%M"))
                    self._tell(text, f"roster-usable:{now.timestamp()!r}")
                return None
            candidate = await asyncio.to_thread(judge, files, self.folder, self.in_force, now, self.overrides(),
                                                self.leave())
            if candidate.accepted and candidate.roster is not None:
                self._put_in_force(candidate, cause, now)
            elif cause != "file" or candidate.digest != self._last_refused:
                self._refuse(candidate, cause, now)
            return candidate

    # -- outcomes -------------------------------------------------------------------------------------------------

    def _put_in_force(self, candidate: Candidate, cause: str, now: datetime) -> None:
        assert candidate.roster is not None
        changed = sorted(name for name in candidate.files.keys() | self.in_force.files.keys()
                         if candidate.files.get(name) != self.in_force.files.get(name))
        snapshot = RosterSnapshot(candidate.digest, now.timestamp(), str(self.folder), candidate.files)
        with self.store.transaction():
            self.store.roster_snapshots.save(snapshot)
            entry = self.store.audit.append("jourbot", "rosters.reloaded", candidate.digest[:16],
                                            {"cause": cause, "files": changed})
            text = t("roster.reload.done", self.lang, time=now.astimezone(self.zone()).strftime("%H:%M"),
                     files=listing(changed, self.lang))
            self._tell(text, f"roster-reloaded:{entry}")  # the audit entry: one message per reload, redone alike
        # In force only once committed: a failed commit leaves the old roster, its snapshot and its audit together.
        self.roster, self.in_force, self.started_problems = candidate.roster, snapshot, []
        log.info("rosters reloaded from %s (%s): %d files changed", self.folder, cause, len(changed))
        for listener in self.on_reloaded:
            try:
                listener()
            except Exception:  # the new roster is in force whatever a follower makes of it
                log.exception("after the roster reload")

    def _refuse(self, candidate: Candidate, cause: str, now: datetime) -> None:
        self._last_refused = candidate.digest
        with self.store.transaction():
            entry = self.store.audit.append("jourbot", "rosters.refused", candidate.digest[:16],
                                            {"cause": cause, "problems": len(candidate.problems)})
            text = tn("roster.reload.refused", len(candidate.problems), self.lang, folder=self.folder,
                      problems=self._listed(candidate.problems))
            self._tell(text, f"roster-refused:{entry}")  # two refusals in the same instant are two messages
        log.warning("rosters in %s refused (%s): %d problems", self.folder, cause, len(candidate.problems))

    def _tell(self, text: str, cause: str) -> None:
        with self.store.transaction():
            self.outbox.queue([SendUser(s, text) for s in sorted(self.supervisors())], Origin(cause))

    def _listed(self, problems: list[str]) -> str:
        lines = [f"• {p}" for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(t("roster.reload.more", self.lang, more=len(problems) - MAX_LISTED))
        return "\n".join(lines)


_NONE = RosterSnapshot("", 0.0, "", {})
