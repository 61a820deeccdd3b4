"""Which instance acts (bot/store/acting.py): two stores on one PostgreSQL database, as two instances would be. One
acts; the other takes over once the first's connection is gone; the first, back with a new connection, commits
nothing more; and a takeover waits for a transaction in flight rather than slipping in under it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.store import Store
from bot.store.db import Fenced
from bot.store.secretbox import SecretBox
from tests.harness.postgres import PostgresServer

T0 = 1_790_000_000.0


@pytest.fixture
def url(postgres: PostgresServer):
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


def instance(tmp_path: Path, name: str, url: str, clock: list[float]) -> Store:
    return Store(tmp_path / name / "jourbot.db", SecretBox("k"), clock=lambda: clock[0], database=url)


@pytest.fixture
def pair(tmp_path: Path, url: str) -> Iterator[tuple[Store, Store, list[float]]]:
    """Two instances on one database, as on two machines, sharing a clock the test moves."""
    clock = [T0]
    first, second = instance(tmp_path, "a", url, clock), instance(tmp_path, "b", url, clock)
    yield first, second, clock
    first.close()
    second.close()


def cut_off(url: str, store: Store) -> None:
    """The server drops the store's connection, as when its instance dies or the network between them fails."""
    pid = store.db.conn.info.backend_pid
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10  # the backend ends, and frees its locks, a moment after the signal
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the server did not end the connection"
            time.sleep(0.01)


def waiting_on_a_lock(url: str, pid: int) -> bool:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row is not None and row[0] == "Lock"


def test_one_instance_acts_and_the_other_takes_over_once_the_first_is_cut_off(url, pair):
    first, second, clock = pair
    assert first.acting.take("DEVICEA") and first.db.holds_acting_lock()
    assert not second.acting.take("DEVICEB"), "the first holds the lock"
    with first.transaction():
        first.meta.set("handled", "$e1")
    assert second.meta.get("handled") == "$e1"

    cut_off(url, first)
    assert not first.db.holds_acting_lock()
    clock[0] += 7
    assert second.acting.take("DEVICEB")
    holder = second.acting.current()
    assert (holder.epoch, holder.holder, holder.since) == (first.acting.epoch + 1, "DEVICEB", T0 + 7)
    with second.transaction():
        second.meta.set("handled", "$e2")


def test_an_instance_that_lost_the_lock_commits_nothing_more_after_reconnecting(url, pair):
    first, second, clock = pair
    assert first.acting.take("DEVICEA")
    cut_off(url, first)
    assert second.acting.take("DEVICEB")

    first.db.reconnect()  # it was only cut off, and comes back believing it still acts
    with pytest.raises(Fenced), first.transaction():
        first.meta.set("handled", "$late")
    with pytest.raises(Fenced):
        first.meta.set("handled", "$late outside a transaction")
    assert second.meta.get("handled") is None
    assert not first.acting.take("DEVICEA"), "the lock is the second's"


def test_a_takeover_waits_for_the_transaction_in_flight_which_commits_wholly_before_it(url, pair):
    first, second, clock = pair
    took: list[bool] = []
    assert first.acting.take("DEVICEA")
    cut_off(url, first)
    first.db.reconnect()  # nobody took over yet: its epoch still stands
    taker = threading.Thread(target=lambda: took.append(second.acting.take("DEVICEB")))
    with first.transaction():
        first.meta.set("handled", "$e1")
        taker.start()
        deadline = time.monotonic() + 10
        while not waiting_on_a_lock(url, second.db.conn.info.backend_pid):
            assert time.monotonic() < deadline, "the takeover never came to wait for the transaction in flight"
            time.sleep(0.01)
        first.meta.set("answered", "$e1")
    taker.join(10)
    assert took == [True]
    assert (second.meta.get("handled"), second.meta.get("answered")) == ("$e1", "$e1")
    with pytest.raises(Fenced), first.transaction():
        first.meta.set("handled", "$e2")


def test_a_holder_whose_beats_stand_still_is_cut_off_and_its_lock_taken(tmp_path, url):
    """A paused instance (SIGSTOP, a frozen VM) keeps its connection open, and with it the lock: only its silence
    tells. The clocks are each instance's own and need not agree."""
    first_clock, second_clock = [T0], [T0 + 3600.0]  # an hour apart
    first, second = instance(tmp_path, "a", url, first_clock), instance(tmp_path, "b", url, second_clock)
    try:
        assert first.acting.take("DEVICEA")
        for _ in range(12):  # beating: the standby waits, however long
            first.acting.beat()
            second_clock[0] += 1
            assert not second.acting.take("DEVICEB", silent_after=5)
        for _ in range(4):  # paused: not yet silent long enough
            second_clock[0] += 1
            assert not second.acting.take("DEVICEB", silent_after=5)
        assert first.db.holds_acting_lock(), "the paused instance's connection is alive and holds the lock"
        second_clock[0] += 1
        assert second.acting.take("DEVICEB", silent_after=5)
        assert second.acting.current().holder == "DEVICEB"
        with pytest.raises(psycopg.OperationalError):  # it wakes up: its connection was ended
            first.acting.beat()
        first.db.reconnect()
        with pytest.raises(Fenced):
            first.acting.beat()
        second.acting.beat()
        assert second.acting.current().beats == 1
    finally:
        first.close()
        second.close()


def test_a_lone_sqlite_bot_always_acts_and_pays_no_fence(tmp_path):
    store = Store(tmp_path / "jourbot.db", SecretBox("k"))
    try:
        assert store.acting.take("DEVICEA") and store.acting.take("DEVICEA")
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
        with store.transaction():
            store.meta.set("handled", "$e1")
        assert statements[0] == "BEGIN IMMEDIATE" and len(statements) == 3, statements
    finally:
        store.close()


def test_transactions_of_two_processes_run_one_at_a_time_so_the_audit_chain_holds(tmp_path, url):
    """As SQLite's BEGIN IMMEDIATE would have it: `jourbot ready` appending to the audit trail while the bot does
    must not chain both entries to the same head."""
    clock = [T0]
    bot, tool = instance(tmp_path, "a", url, clock), instance(tmp_path, "b", url, clock)
    try:
        def report() -> None:
            with tool.transaction():
                tool.audit.append("readiness", "readiness.reported")

        appended = threading.Thread(target=report)
        with bot.transaction():
            bot.audit.append("@p:x", "alarm.raised", "L1")
            appended.start()
            deadline = time.monotonic() + 10
            while not waiting_on_a_lock(url, tool.db.conn.info.backend_pid):
                assert time.monotonic() < deadline, "the second transaction never came to wait for the first"
                time.sleep(0.01)
            bot.audit.append("@a:x", "alarm.accepted", "L1")
        appended.join(10)
        assert [e["action"] for e in bot.audit.entries()][::-1] == \
            ["alarm.raised", "alarm.accepted", "readiness.reported"]
        assert bot.audit.verify() == (True, 3, "")
    finally:
        bot.close()
        tool.close()
