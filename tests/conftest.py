"""Shared fixtures. Integration tests get a real Synapse (one per session) on 127.0.0.1 with SQLite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.harness.element import node  # noqa: F401 - a fixture for the Element-stack tests
from tests.harness.people import Person
from tests.harness.postgres import PostgresServer, postgres_bin
from tests.harness.synapse import PASSWORD, Synapse, synapse_python

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    python = synapse_python(REPO)
    if not python.exists():
        pytest.fail(f"Synapse is not installed at {python}: run `make test` (it installs it)")
    server = Synapse(tmp_path_factory.mktemp("synapse"), python)
    server.start()
    server.register("jourbot", PASSWORD)
    yield server
    server.stop()
    if os.environ.get("JOURBOT_KEEP_SYNAPSE_LOG"):
        print(server.log_path.read_text()[-5000:])


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """PostgreSQL from Debian's package, started once, on first use (tests of SQLite alone never start it)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): run `make test` (it installs it)")
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    """A PostgreSQL database of the test's own: for the bot instances that share one (tests/harness/instances.py)."""
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store's `[storage] database` in each dialect: "" for SQLite in the state folder, or the URL of a fresh
    PostgreSQL database. A store test that takes it runs once against each."""
    if request.param == "sqlite":
        yield ""
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest_asyncio.fixture
async def people(synapse: Synapse, tmp_path: Path) -> AsyncIterator:
    """`await people("polis1")` → a logged-in E2EE nio client for @polis1:localhost (registered if needed)."""
    started: list[Person] = []

    async def make(localpart: str) -> Person:
        user_id = synapse.register(localpart, PASSWORD)
        person = Person(synapse.url, user_id, PASSWORD, tmp_path / "people" / localpart)
        await person.start()
        started.append(person)
        return person

    yield make
    for person in started:
        await person.stop()
