"""PostgreSQL, for instances that share one database (docs/design.md, "Availability beyond one machine").

The repositories' SQL is written once, in what both dialects understand; the little PostgreSQL spells differently is
translated here, once per statement text (the texts are constants, so the cache stays as small as the code):
- `?` placeholders become `%s`, `:name` ones `%(name)s` (and a literal `%` becomes `%%`);
- a list passed as JSON to SQLite's `json_each` is unnested with `jsonb_array_elements_text`.

The connection is in autocommit mode and `Database.transaction()` sends BEGIN/SAVEPOINT/COMMIT itself, as on SQLite.
READ COMMITTED is enough while one process writes; the acting lock (issue 21, step 3) keeps it so.

What SQLite does beside the database has no counterpart here: no file is made private (the server's own files are
the server's), and a purge's dead rows are left to autovacuum rather than handed back at once (see `reclaim`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg.pq import TransactionStatus

from bot.store.db import Cursor, Database, Params

log = logging.getLogger(__name__)

# What SQLite says one way and PostgreSQL another: (SQLite's text, PostgreSQL's), replaced as written.
SPELLED: tuple[tuple[str, str], ...] = (
    ("(SELECT value FROM json_each(?))", "(SELECT jsonb_array_elements_text(?::jsonb))"),
)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # `:cutoff`, not the `::` of a cast
# Every user of the database (the bot, `audit verify`, `roster ready`) holds this advisory lock shared while it has
# the database open; `keys rotate-data` needs it alone (`exclusive`), as the lock file beside SQLite's database.
USERS_LOCK = 0x6A6F7572  # "jour"
COLLATIONS_LIKE_SQLITE = ("C", "POSIX", "C.UTF-8", "C.utf8")


def translate(sql: str) -> str:
    """A statement as written for SQLite, in PostgreSQL's words."""
    for sqlite, postgres in SPELLED:
        sql = sql.replace(sqlite, postgres)
    sql = sql.replace("%", "%%")
    sql = _NAMED.sub(r"%(\1)s", sql)
    return sql.replace("?", "%s")


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, path: Path) -> None:
        super().__init__()
        self.path = path
        self.conn = psycopg.connect(url, autocommit=True)
        self._translated: dict[str, str] = {}
        self.conn.execute("SELECT pg_advisory_lock_shared(%s)", [USERS_LOCK])
        row = self.conn.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()").fetchone()
        if row and row[0] not in COLLATIONS_LIKE_SQLITE:
            # Text sorts by bytes in SQLite; a language's collation orders ids and times otherwise ("L10" vs "L9").
            log.warning("the database sorts text by %s, not by bytes as SQLite does: create it with LC_COLLATE 'C'",
                        row[0])

    def _sql(self, sql: str) -> str:
        try:
            return self._translated[sql]
        except KeyError:
            done = self._translated[sql] = translate(sql)
            return done

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.conn.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> Cursor:
        cur = self.conn.cursor()
        cur.executemany(self._sql(sql), rows)
        return cur

    def _open_on_server(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    def has_table(self, name: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = %s", [name]
        ).fetchone() is not None

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

    def close(self) -> None:
        self.conn.close()
