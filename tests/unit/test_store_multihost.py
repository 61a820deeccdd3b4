"""A `[storage] database` URL that names several servers, as with a primary and its replica (docs/operations.md,
"A replica of the database"): libpq tries them in turn, and `target_session_attrs=read-write` takes the one that
takes writes. What the bot opens with such a URL — its store and its read-only look-ups — lands there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store import Store
from bot.store.db import Unreadable
from bot.store.readonly import read_rows
from bot.store.secretbox import SecretBox
from tests.harness.postgres import SUPERUSER, PostgresServer, free_port


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


def several_hosts(url: str, postgres: PostgresServer) -> str:
    """The URL with a server that is not there ahead of the real one, as a stopped primary would be."""
    name = url.rsplit("/", 1)[1]
    return (f"postgresql://{SUPERUSER}@127.0.0.1:{free_port()},127.0.0.1:{postgres.port}/{name}"
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
