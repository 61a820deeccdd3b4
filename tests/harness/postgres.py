"""A throwaway PostgreSQL server for the tests, from Debian's package (`make test` installs it): initdb in a temp
folder, started on 127.0.0.1 with a free port and its socket in that folder, stopped at the end. Each test gets a
database of its own (`create_database`), so nothing, not even an advisory lock, leaks from one test to the next.

initdb refuses to run as root: as root the server runs as `nobody`, in a folder given to it (the pytest temp folders
are root's alone, so the folder is made under /tmp). Durability is switched off (fsync, synchronous commit, full page
writes): a test's database never outlives the test, and the 2-CPU machine is shared.

`replica()` gives a server a synchronous streaming replica, as docs/operations.md shows it ("A replica of the
database"): there a commit waits until the replica has the transaction, so a primary stopped at once loses nothing a
promoted replica lacks. That is replication, not the disk, so fsync stays off; synchronous commit is on for the pair."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

SUPERUSER = "jourbot"


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


def postgres_bin() -> Path | None:
    """The newest PostgreSQL of Debian's package, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="jourbot-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._numbers = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody")
            self._as = ["runuser", "-u", "nobody", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       cwd=self.root)

    def start(self, synchronous: bool = False) -> None:
        """A new server; `synchronous`: a commit waits for the synchronous replicas (see `replica`)."""
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--no-locale",
                  "-E", "UTF8", "--no-sync")
        self._start(synchronous)

    def _start(self, synchronous: bool) -> None:
        self.port = free_port()
        # Options given here outrank ALTER SYSTEM, so synchronous_commit is named only where it is off.
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
                   " -c fsync=off -c full_page_writes=off -c shared_buffers=16MB")
        if not synchronous:
            options += " -c synchronous_commit=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options,
                  "start")

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

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if self.port:
            subprocess.run([*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)
