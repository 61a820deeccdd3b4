"""A throwaway PostgreSQL server for the tests, from Debian's package (`make test` installs it): bot/cli/pgserver.py,
which `make run-ha` starts too. Each test gets a database of its own (`create_database`), so nothing, not even an
advisory lock, leaks from one test to the next.

`replica()` gives a server a synchronous streaming replica, as docs/operations.md shows it ("A replica of the
database"): there a commit waits until the replica has the transaction, so a primary stopped at once loses nothing a
promoted replica lacks. That is replication, not the disk, so fsync stays off; synchronous commit is on for the pair."""

from __future__ import annotations

import itertools
import os
import time

import psycopg

from bot.cli import pgserver
from bot.cli.pgserver import SUPERUSER, postgres_bin
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


class PostgresServer(pgserver.PostgresServer):
    """The demo's server, and what the failover tests do to it: a replica, a crash, a promotion."""

    def replica(self, name: str = "replica") -> PostgresServer:
        """A streaming replica of this server (started with `synchronous`), made by pg_basebackup -R and named
        `name`, which this server then waits for at every commit (synchronous_standby_names)."""
        standby = PostgresServer(self.bin)
        try:
            standby._run(str(self.bin / "pg_basebackup"), "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast",
                         "--no-sync", "-d", f"host=127.0.0.1 port={self.port} user={SUPERUSER} application_name={name}")
            standby._start(synchronous=True)
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{name}'")
                conn.execute("SELECT pg_reload_conf()")
                deadline = time.monotonic() + 30
                while not conn.execute("SELECT 1 FROM pg_stat_replication WHERE application_name = %s"
                                       " AND sync_state = 'sync' AND state = 'streaming'", [name]).fetchone():
                    assert time.monotonic() < deadline, "the replica did not become synchronous"
                    time.sleep(0.05)
        except BaseException:
            standby.stop()  # its folder, and its server if it started
            raise
        return standby

    def crash(self) -> None:
        """Stopped at once, as a lost machine: no checkpoint, nothing more sent to the replicas."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def promote(self) -> None:
        """A replica becomes a primary that takes writes (pg_ctl promote waits until it does)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "promote")
