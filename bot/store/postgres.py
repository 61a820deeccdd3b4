"""PostgreSQL, for instances that share one database (docs/design.md, "Availability beyond one machine").

The repositories' SQL is written once, in what both dialects understand; the little PostgreSQL spells differently is
translated here, once per statement text (the texts are constants, so the cache stays as small as the code):
- `?` placeholders become `%s`, `:name` ones `%(name)s` (and a literal `%` becomes `%%`);
- a list passed as JSON to SQLite's `json_each` is unnested with `jsonb_array_elements_text`.

The connection is in autocommit mode and `Database.transaction()` sends BEGIN/SAVEPOINT/COMMIT itself, as on SQLite.
The repositories were written for SQLite, whose BEGIN IMMEDIATE lets one transaction at a time write: they read and
then write on what they read (the audit chain's head, a login link not yet used, a sequence). So every transaction
here opens by taking a transaction-scoped advisory lock (WRITERS_LOCK), in the same round trip as its BEGIN: one at a
time, as on SQLite, whichever process runs it (the bot, `jourbot ready`, another instance). Reads outside a
transaction run beside them, as on SQLite's WAL.

Acting (bot/store/acting.py): an advisory lock held on this connection decides which instance acts; it goes with the
connection, so a dead instance's lock is free as soon as the server notices. The taker raises the fencing epoch, and
once fenced (`fence`) every transaction opens by reading the epoch in the same round trip as its BEGIN: a changed
epoch refuses the transaction (`Fenced`). Transactions run one at a time (WRITERS_LOCK), so a takeover waits for
the one in flight, which commits wholly before the takeover or not at all, and the next reads the new epoch. Outside
a transaction, a fenced connection runs each statement in one of its own, so nothing escapes the check.

What SQLite does beside the database has no counterpart here: no file is made private (the server's own files are
the server's), and a purge's dead rows are left to autovacuum rather than handed back at once (see `reclaim`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from bot.store.db import Cursor, Database, Fenced, Params, Unreachable, Unreadable

log = logging.getLogger(__name__)

# What SQLite says one way and PostgreSQL another: (SQLite's text, PostgreSQL's), replaced as written.
SPELLED: tuple[tuple[str, str], ...] = (
    ("(SELECT value FROM json_each(?))", "(SELECT jsonb_array_elements_text(?::jsonb))"),
)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # `:cutoff`, not the `::` of a cast
# Every user of the database (the bot, `audit verify`, `roster ready`) holds this advisory lock shared while it has
# the database open; `keys rotate-data` needs it alone (`exclusive`), as the lock file beside SQLite's database.
USERS_LOCK = 0x6A6F7572  # "jour"
ACTING_LOCK = 0x6A6F75726163  # "jourac": held by the instance that acts
COLLATIONS_LIKE_SQLITE = ("C", "POSIX", "C.UTF-8", "C.utf8")
# The BEGIN of a fenced connection: one round trip (the simple query protocol takes both statements, no parameters).
WRITERS_LOCK = 0x6A6F75727772  # "jourwr": held by the one transaction that runs, as SQLite's BEGIN IMMEDIATE would
BEGIN_SERIAL = f"BEGIN; SELECT pg_advisory_xact_lock({WRITERS_LOCK})"
BEGIN_FENCED = f"{BEGIN_SERIAL}; SELECT epoch FROM acting WHERE id = 1"


# How soon each side gives a silent peer up (a machine lost, a cable cut: no FIN ever comes), unless the URL says
# otherwise: keepalives after 5 s idle, every 2 s, 3 missed; 10 s for data never acknowledged. The server then ends a
# lost acting instance's connection, and frees its lock, within some 11 s, and a standby takes over within the 15 s
# the issue asks; the bot notices a lost server as soon. The server's side travels in `options`.
# A connection attempt is given up after CONNECT_TIMEOUT_S, per server the URL names: where a primary's machine is
# lost ahead of its promoted replica in the URL, psycopg's own default (130 s) would hold every start and reconnect.
CONNECT_TIMEOUT_S = 5
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                          "keepalives_count": 3, "tcp_user_timeout": 10000, "connect_timeout": CONNECT_TIMEOUT_S}
SERVER_KEEPALIVES = ("-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
                     " -c tcp_user_timeout=10000")
# The row of pg_locks of whoever holds the acting lock (a bigint key is split over classid and objid).
_HOLDS_ACTING = ("locktype = 'advisory' AND granted AND mode = 'ExclusiveLock' AND objsubid = 1"
                 " AND ((classid::bigint << 32) | objid::bigint) = %s")
HAS_TABLE = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = %s"


def translate(sql: str) -> str:
    """A statement as written for SQLite, in PostgreSQL's words."""
    for sqlite, postgres in SPELLED:
        sql = sql.replace(sqlite, postgres)
    sql = sql.replace("%", "%%")
    sql = _NAMED.sub(r"%(\1)s", sql)
    return sql.replace("?", "%s")


def with_keepalives(url: str) -> dict[str, Any]:
    """The keepalive settings the URL does not make itself (an operator's own win)."""
    given = conninfo_to_dict(url)
    extra = {key: value for key, value in KEEPALIVES.items() if key not in given}
    if "options" not in given:
        extra["options"] = SERVER_KEEPALIVES
    return extra


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, path: Path) -> None:
        super().__init__()
        self.path = path
        # The state folder holds what this instance keeps beside the database (the audit head), as with SQLite.
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._url = url
        self._translated: dict[str, str] = {}
        self._epoch: int | None = None
        try:
            self.conn = self._connect()
        except psycopg.OperationalError as err:
            raise Unreachable(f"cannot connect to the PostgreSQL database: {err}") from err
        row = self.conn.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()").fetchone()
        if row and row[0] not in COLLATIONS_LIKE_SQLITE:
            # Text sorts by bytes in SQLite; a language's collation orders ids and times otherwise ("L10" vs "L9").
            log.warning("the database sorts text by %s, not by bytes as SQLite does: create it with LC_COLLATE 'C'",
                        row[0])

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        conn = psycopg.connect(self._url, autocommit=True, **with_keepalives(self._url))
        conn.execute("SELECT pg_advisory_lock_shared(%s)", [USERS_LOCK])
        return conn

    def reconnect(self) -> None:
        """A new connection after the old one was lost (the server restarted, a replica was promoted). The acting
        lock went with the old one and is not taken again here; the fence stays, so if another instance took over
        meanwhile, this one's next transaction is refused."""
        if not self.conn.closed:
            self.conn.close()
        self._depth = 0
        self._changed.clear()
        self._last_words = []
        self.conn = self._connect()

    def _sql(self, sql: str) -> str:
        try:
            return self._translated[sql]
        except KeyError:
            done = self._translated[sql] = translate(sql)
            return done

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        if self._epoch is not None and self._depth == 0:
            with self.transaction():
                return self.conn.execute(self._sql(sql), params)
        return self.conn.execute(self._sql(sql), params)

    def _control(self, sql: str) -> None:
        self.conn.execute(sql)

    def _begin(self) -> None:
        if self._epoch is None:
            self.conn.execute(BEGIN_SERIAL)
            return
        cur = self.conn.execute(BEGIN_FENCED)
        cur.nextset()  # past BEGIN's result and the lock's, to the epoch's
        cur.nextset()
        row = cur.fetchone()
        if row is None or int(row[0]) != self._epoch:
            self.conn.execute("ROLLBACK")
            why = f"another instance acts now (fencing epoch {row[0] if row else '?'}, ours {self._epoch})"
            if self.when_fenced is not None:
                self.when_fenced(why)
            raise Fenced(why)

    def executemany(self, sql: str, rows: Sequence[Params]) -> Cursor:
        cur = self.conn.cursor()
        cur.executemany(self._sql(sql), rows)
        return cur

    def _open_on_server(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    def has_table(self, name: str) -> bool:
        return self.conn.execute(HAS_TABLE, [name]).fetchone() is not None

    @property
    def where(self) -> str:
        return f"the PostgreSQL database {self.conn.info.dbname} on {self.conn.info.host}:{self.conn.info.port}"

    def reclaim(self) -> bool:
        """Nothing to hand back at once: PostgreSQL's autovacuum makes a purge's dead rows reusable space. Whether
        they are also gone from the server's WAL and its replicas' is the server's retention (issue 21, left)."""
        return True

    def exclusive(self) -> bool:
        """Whether this is the only open use of the database, now held so until it is closed."""
        self.conn.execute("SELECT pg_advisory_unlock_shared(%s)", [USERS_LOCK])
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [USERS_LOCK]).fetchone()
        if row and row[0]:
            return True
        self.conn.execute("SELECT pg_advisory_lock_shared(%s)", [USERS_LOCK])
        return False

    def try_acting_lock(self) -> bool:
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [ACTING_LOCK]).fetchone()
        return bool(row and row[0])

    def holds_acting_lock(self) -> bool:
        """Whether this connection still holds the acting lock (False once the connection is gone)."""
        if self.conn.closed:
            return False
        try:
            row = self.conn.execute(f"SELECT 1 FROM pg_locks WHERE {_HOLDS_ACTING} AND pid = pg_backend_pid()",
                                    [ACTING_LOCK]).fetchone()
        except psycopg.OperationalError:
            return False
        return row is not None

    def end_acting_holder(self) -> None:
        # The holder as the server knows it, not as a row says: a process id is reused once its process is gone.
        # Waits up to 5 s for the process to end, and with it its lock; not gone by then, the next try takes it.
        # Allowed on connections of the bot's own role without superuser rights.
        self.conn.execute(f"SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE {_HOLDS_ACTING}",
                          [ACTING_LOCK])

    def fence(self, epoch: int | None) -> None:
        self._epoch = epoch

    def close(self) -> None:
        self.conn.close()


def read_rows(url: str, table: str, sql: str, params: Sequence[object]) -> list[Any]:
    """bot/store/readonly.py on PostgreSQL: a connection of its own whose transactions cannot write."""
    try:
        with psycopg.connect(url, autocommit=True, **with_keepalives(url)) as conn:
            # Set once connected, not in the startup options: libpq's `target_session_attrs=read-write` (a URL
            # naming a primary and its replica) takes a session read-only from its start for a replica's.
            conn.execute("SET default_transaction_read_only = on")
            if conn.execute(HAS_TABLE, [table]).fetchone() is None:
                return []
            return conn.execute(translate(sql), params).fetchall()
    except psycopg.Error as err:
        raise Unreadable(f"the PostgreSQL database cannot be read: {err}") from err
