"""The database connection, its transactions, and what runs after a commit.

Two dialects share this: `SqliteDatabase` (the embedded default, below) and `PostgresDatabase` (bot/store/postgres.py,
for instances that share one database). Repositories write their SQL once, in the subset both understand (`?`
parameters, `ON CONFLICT … DO UPDATE/NOTHING`, `RETURNING`); what PostgreSQL spells differently is translated there,
once per statement. SQLite runs the text as written: no per-statement cost for the embedded default.

Every write that belongs together happens inside `transaction()` (BEGIN IMMEDIATE … COMMIT): a state change, its audit
entry, its deadline and the messages announcing it are stored at once or not at all. Nothing outside the database may
act on a write before it is committed, so repositories only *say* what they changed (`changed(Topic.DEADLINES)`) and the
listeners for that topic (the timers, the outbox) run after COMMIT — never after a ROLLBACK.

Transactions are synchronous blocks: no `await` happens inside one, so on one event loop they never interleave.
A nested `transaction()` is a SAVEPOINT: it rolls back alone, and its topics are announced with the outer commit.

Purged means gone (docs/operations.md, "Audit trail and retention"): `secure_delete` overwrites what is deleted, and
after a purge `reclaim()` hands the freed pages back (incremental vacuum) and empties the WAL (checkpoint TRUNCATE), so
no copy stays in free pages or in the WAL.

Durability (docs/design.md, "Durability"): WAL with synchronous=NORMAL. A commit survives a crash of the bot at once; an
OS crash or a power cut can lose the last few commits, which rolls the bot back to an earlier consistent state that it
then redoes with the same transaction ids (the homeserver drops the repeats), so no fsync is paid per commit.
"""

from __future__ import annotations

import enum
import fcntl
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

Params = Sequence[object] | Mapping[str, object]  # `?` placeholders, or `:name` ones with a mapping


class Cursor(Protocol):
    """What repositories use of a cursor, in either dialect."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Topic(enum.Enum):
    """What a commit changed, for whoever must act on it afterwards (the timers, the outbox, a cache). Announced in
    this order: the outbox first, so a page's send starts before anything else a commit sets off."""

    OUTBOX = "outbox"
    DEADLINES = "deadlines"  # escalation deadlines and repeats of alarms
    CHECKINS = "checkins"  # shift check-ins planned, asked, answered
    REPORTS = "reports"  # when the next daily readiness report is due
    PAGE_WATCH = "page_watch"  # pages waiting to be read (their SMS falls due)
    HANDOVERS = "handovers"
    LEAVE = "leave"  # leave made in the browser
    IDENTITIES = "identities"
    AUDIT = "audit"  # entries appended: the head goes to its file outside the database


_ANNOUNCED = list(Topic)


class Unreadable(Exception):
    """The database could not be read (PostgreSQL unreachable, say), where a reader can do without it."""


class Unreachable(Exception):
    """No server the PostgreSQL URL names takes the connection as asked (all down, or replicas not yet promoted)."""


class Fenced(Exception):
    """Another instance took over acting (the fencing epoch moved on): this one may commit nothing more."""


class Database:
    """What both dialects share: transactions with savepoints, the topics a commit changed, and the work that must come
    last in a transaction. A dialect gives `execute`, `executemany` and how a transaction begins and ends."""

    dialect = ""
    # Where the files kept beside the database go (its salt, the audit head): the state folder's `jourbot.db`.
    path: Path
    _BEGIN = "BEGIN"

    def __init__(self) -> None:
        self._depth = 0
        self._changed: set[Topic] = set()
        self._listeners: dict[Topic, list[Callable[[], None]]] = {}
        self._last_words: list[tuple[int, Callable[[], None]]] = []  # (depth registered at, work) for before COMMIT
        # Told when a transaction is refused because another instance took over, wherever it was begun: the runtime
        # stops acting then and there, not at its next beat (bot/ha/role.py).
        self.when_fenced: Callable[[str], None] | None = None

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Params]) -> Cursor:
        raise NotImplementedError

    def _open_on_server(self) -> bool:
        """Whether the connection is still inside a transaction (after a failed COMMIT)."""
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    @property
    def where(self) -> str:
        """The database, as a message to the operator names it (never with a password)."""
        return str(self.path)

    def private_side_files(self) -> None:
        """Files the database engine keeps beside the database made private (SQLite's WAL); none elsewhere."""

    def vacuum_once(self) -> str:
        return ""

    def reclaim(self) -> bool:
        return True

    def exclusive(self) -> bool:
        raise NotImplementedError

    # --- acting, where instances share the database (bot/store/acting.py) -------------------------------------------
    def try_acting_lock(self) -> bool:
        """Take the lock that decides which instance acts, if free. One process has a SQLite database to itself:
        it always acts, and its transactions pay for no fencing."""
        return True

    def end_acting_holder(self) -> None:
        """End the server process of the connection that holds the acting lock (a silent instance's), waiting
        until it is gone."""
        raise NotImplementedError

    def fence(self, epoch: int | None) -> None:
        """From now on every transaction first checks that the fencing epoch is still `epoch` (None: no check)."""

    def reconnect(self) -> None:
        """A new connection after the old one was lost; one process's SQLite file is never lost so."""

    def close(self) -> None:
        raise NotImplementedError

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    # --- after-commit notifications -------------------------------------------------------------------------------
    def on_commit(self, topic: Topic, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit that changed `topic`."""
        self._listeners.setdefault(topic, []).append(listener)

    def changed(self, topic: Topic) -> None:
        """A repository wrote to `topic`; its listeners run once the outermost transaction commits."""
        self._changed.add(topic)
        if self._depth == 0:
            self._announce()

    def _announce(self) -> None:
        topics, self._changed = self._changed, set()
        for topic in sorted(topics, key=_ANNOUNCED.index):
            for listener in self._listeners.get(topic, ()):
                try:
                    listener()
                except Exception:  # a listener must not undo a commit that already happened
                    log.exception("after-commit listener for %s failed", topic)

    def before_commit(self, work: Callable[[], None]) -> None:
        """Run `work` at the end of the outermost transaction, inside it, after everything else it does: what must
        come last among the writes of a transaction (an alarm room's farewell after the answer to the command that
        closed it). Dropped with the savepoint it was registered in, if that rolls back."""
        if self._depth == 0:
            with self.transaction():
                work()
            return
        self._last_words.append((self._depth, work))

    def _control(self, sql: str) -> None:
        """A statement of the transaction's own (BEGIN, COMMIT, SAVEPOINT …): never translated, never fenced."""
        raise NotImplementedError

    def _begin(self) -> None:
        self._control(self._BEGIN)

    # --- transactions ------------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            name = f"sp{self._depth}"
            self._control(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._control(f"ROLLBACK TO {name}")
                self._control(f"RELEASE {name}")
                self._last_words = [(d, w) for d, w in self._last_words if d < self._depth]
                raise
            finally:
                self._depth -= 1
            self._control(f"RELEASE {name}")
            return
        self._begin()
        self._depth = 1
        try:
            yield
            while self._last_words:  # work registered by the last words may register more
                words, self._last_words = self._last_words, []
                for _, work in words:
                    work()
        except BaseException:
            self._depth = 0
            self._changed.clear()
            self._last_words = []
            self._control("ROLLBACK")
            raise
        self._depth = 0
        try:
            self._control("COMMIT")
        except BaseException:
            self._changed.clear()
            if self._open_on_server():
                self._control("ROLLBACK")
            raise
        self._announce()

class SqliteDatabase(Database):
    """The embedded default: one file, BEGIN IMMEDIATE so writers queue rather than fail at COMMIT."""

    dialect = "sqlite"
    _BEGIN = "BEGIN IMMEDIATE"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # Created private before SQLite writes anything into it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        fresh = path.stat().st_size == 0
        os.chmod(path, 0o600)
        # Every user of the database (the bot, `audit verify`, `roster ready`) holds a shared lock on this file while
        # it has the database open; `keys rotate-data` needs it alone (`exclusive`).
        self._lock = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_SH)
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        if fresh:  # only before the first table: an older database is converted once (`vacuum_once`)
            self.conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self.conn.execute("PRAGMA secure_delete=ON")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.private_side_files()

    def private_side_files(self) -> None:
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> sqlite3.Cursor:
        return self.conn.executemany(sql, rows)

    def _control(self, sql: str) -> None:
        self.conn.execute(sql)

    def _open_on_server(self) -> bool:
        return self.conn.in_transaction

    def has_table(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 [name]).fetchone() is not None

    # --- reclaiming space, so deleted data is gone -----------------------------------------------------------------
    @property
    def incremental(self) -> bool:
        """Whether freed pages can be handed back without rewriting the whole file."""
        return int(self.conn.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2

    def vacuum_once(self) -> str:
        """An older database (made without auto_vacuum) rewritten once with auto_vacuum=INCREMENTAL, so later purges
        can hand their pages back. VACUUM is itself all-or-nothing (a crash leaves the database as it was), but it
        needs room for a second copy: without that it is put off to the next start, and said why. "" when nothing
        was done, else what was."""
        if self.incremental or self._depth:
            return ""
        size = self.path.stat().st_size
        wal = Path(str(self.path) + "-wal")
        needed = 2 * size + (wal.stat().st_size if wal.exists() else 0) + 16 * 1024 * 1024
        free = shutil.disk_usage(self.path.parent).free
        if free < needed:
            log.warning("the database is not yet set up to give purged pages back: VACUUM needs %d MB free beside it"
                        " and %d MB are; tried again at the next start", needed >> 20, free >> 20)
            return ""
        try:
            self.conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self.conn.execute("VACUUM")
        except sqlite3.OperationalError as err:  # another process has the database open and busy
            log.warning("VACUUM put off to the next start: %s", err)
            return ""
        self.reclaim()
        self.private_side_files()
        return f"rewritten with auto_vacuum=INCREMENTAL ({size >> 10} KiB before, {self.path.stat().st_size >> 10} KiB"\
               " after)"

    def reclaim(self) -> bool:
        """After a purge, outside any transaction: free pages back to the file system, then the WAL emptied into
        the database and truncated. False when another connection (a reader) kept the WAL from emptying."""
        if self.incremental:
            self.conn.execute("PRAGMA incremental_vacuum").fetchall()
        busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return int(busy) == 0

    def exclusive(self) -> bool:
        """Whether this is the only open use of the database, now held so until it is closed."""
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(self._lock, fcntl.LOCK_SH)
            return False
        return True

    def close(self) -> None:
        self.conn.close()
        os.close(self._lock)
