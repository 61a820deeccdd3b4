"""A `[storage] database` URL that names several servers, as with a primary and its replica (docs/operations.md,
"A replica of the database"): libpq tries them in turn, and `target_session_attrs=read-write` takes the one that
takes writes. What the bot opens with such a URL — its store and its read-only look-ups — lands there."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from bot.store import Store
from bot.store.db import Unreadable
from bot.store.postgres import CONNECT_TIMEOUT_S
from bot.store.readonly import read_rows
from bot.store.secretbox import SecretBox
from tests.harness.postgres import SUPERUSER, PostgresServer, free_port


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


def several_hosts(url: str, postgres: PostgresServer, ahead: int = 0) -> str:
    """The URL with a server that is not there ahead of the real one, as a stopped primary would be."""
    name = url.rsplit("/", 1)[1]
    return (f"postgresql://{SUPERUSER}@127.0.0.1:{ahead or free_port()},127.0.0.1:{postgres.port}/{name}"
            "?target_session_attrs=read-write")


def test_the_store_opens_on_the_server_that_takes_writes(tmp_path, url, postgres):
    store = Store(tmp_path / "jourbot.db", SecretBox("k"), database=several_hosts(url, postgres))
    try:
        assert store.db.where.endswith(f"127.0.0.1:{postgres.port}")
        with store.transaction():
            store.meta.set("handled", "$e1")
        assert store.acting.take("DEVICEA")
    finally:
        store.close()


def test_a_read_only_look_up_takes_the_same_url(tmp_path, url, postgres):
    store = Store(tmp_path / "jourbot.db", SecretBox("k"), database=url)
    store.close()
    # A session opened read-only is one libpq's read-write check refuses: the look-up's is made read-only after.
    both = several_hosts(url, postgres)
    assert read_rows(tmp_path / "jourbot.db", both, "meta", "SELECT 1 FROM meta")
    with pytest.raises(Unreadable, match="read-only transaction"):
        read_rows(tmp_path / "jourbot.db", both, "meta", "INSERT INTO meta(key, value) VALUES ('x', 'y') RETURNING 1")


def test_a_server_that_never_answers_is_given_up_within_seconds_for_the_next(tmp_path, url, postgres):
    with socket.socket() as silent:  # takes the connection, as a hung machine's kernel would, and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        both = several_hosts(url, postgres, silent.getsockname()[1])
        start = time.monotonic()
        store = Store(tmp_path / "jourbot.db", SecretBox("k"), database=both)
        opened = time.monotonic() - start
        try:
            assert store.db.where.endswith(f"127.0.0.1:{postgres.port}")
            start = time.monotonic()
            assert read_rows(tmp_path / "jourbot.db", both, "meta", "SELECT 1 FROM meta")
            read = time.monotonic() - start
        finally:
            store.close()
    for took in (opened, read):
        assert CONNECT_TIMEOUT_S - 1 < took < CONNECT_TIMEOUT_S + 5, (opened, read)
