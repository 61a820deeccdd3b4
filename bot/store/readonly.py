"""Reading the bot's database without writing to it and without migrating it: for `jourbot roster` and the start's
preflight, which run beside a running bot or before the store is opened. In either dialect; no database yet, or one
from before the table: no rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def read_rows(path: Path, database: str, table: str, sql: str, params: Sequence[object] = ()) -> list[Any]:
    """The rows of `sql` from the SQLite file at `path`, or from the PostgreSQL database `database` names."""
    if database:
        from bot.store.postgres import read_rows as read_postgres  # psycopg only where PostgreSQL is configured

        return read_postgres(database, table, sql, params)
    if not path.exists():
        return []
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return []
        raise
    finally:
        conn.close()
