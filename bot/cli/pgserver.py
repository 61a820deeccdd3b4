"""A PostgreSQL server of its own from Debian's package (`make postgres` installs it), on 127.0.0.1: for `make run-ha`
and for the tests (tests/harness/postgres.py).

initdb in a folder, the server started on 127.0.0.1 with its socket in that folder and stopped at the end; no
password (trust, on loopback only). initdb refuses to run as root: as root the server runs as `nobody`, in a folder
given to it under the system's temporary folder (a folder under the repository or pytest's may not be reachable for
`nobody`). Durability is switched off (fsync, full page writes, and synchronous commit unless `start` is asked for
it): what it holds is thrown away with it, and the 2-CPU machines it runs on are shared.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bot.cli.ports import free_port

SUPERUSER = "jourbot"


def postgres_bin() -> Path | None:
    """The newest PostgreSQL of Debian's package, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self, bin_dir: Path, prefix: str = "jourbot-pg-") -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
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
        """A new server; `synchronous`: a commit waits for the synchronous replicas (the tests' `replica`)."""
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

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str = "") -> str:
        """A new empty database (byte order, as the bot wants it: docs/operations.md, "On PostgreSQL"); its URL."""
        name = name or f"t{next(self._numbers)}"
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
