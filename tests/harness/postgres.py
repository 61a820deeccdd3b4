"""A throwaway PostgreSQL server for the tests, from Debian's package (`make test` installs it): bot/cli/pgserver.py,
which `make run-ha` starts too. Each test gets a database of its own (`create_database`), so nothing, not even an
advisory lock, leaks from one test to the next."""

from __future__ import annotations

import itertools
import os

import psycopg

from bot.cli.pgserver import SUPERUSER, PostgresServer, postgres_bin
from bot.cli.ports import free_port

__all__ = ["SUPERUSER", "PostgresServer", "database_for_a_test_bot", "free_port", "postgres_bin"]


# Set to a server's URL (postgresql://user@host:port/), every bot the harness configures (write_config) gets a
# database of its own there instead of SQLite: `JOURBOT_TEST_POSTGRES=… pytest tests/component` runs the component
# tier against PostgreSQL, a wider net for dialect differences than the store's own tests (issue 21).
TEST_POSTGRES = "JOURBOT_TEST_POSTGRES"
_made = itertools.count(1)


def database_for_a_test_bot() -> str:
    """"" (SQLite), or a new database on the server JOURBOT_TEST_POSTGRES names."""
    server = os.environ.get(TEST_POSTGRES, "")
    if not server:
        return ""
    name = f"bot{os.getpid()}_{next(_made)}"
    with psycopg.connect(server.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")
    return server.rstrip("/") + "/" + name
