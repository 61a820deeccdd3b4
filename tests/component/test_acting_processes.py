"""Two processes on one PostgreSQL database, as two instances on two machines would be: when the acting one is
killed (kill -9) or paused (SIGSTOP), the other takes over, and the paused one, woken, commits nothing more.
The takeover times are printed (pytest -s) for issue 21's closing note."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.secretbox import SecretBox
from tests.harness.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
# The acting instance: takes the lock, says so, then beats every 0.2 s until its beat is refused.
INSTANCE = """
import sys, time
from pathlib import Path
from bot.store import Store
from bot.store.secretbox import SecretBox
store = Store(Path(sys.argv[1]), SecretBox("k"), clock=time.monotonic, database=sys.argv[2])
while not store.acting.take("FIRST"):
    time.sleep(0.05)
print("acting", flush=True)
try:
    while True:
        store.acting.beat()
        time.sleep(0.2)
except Exception as err:
    print("stopped:", type(err).__name__, flush=True)
    sys.exit(3)
"""


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    made = postgres.create_database()
    yield made
    postgres.drop_database(made)


def acting_process(tmp_path: Path, url: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", INSTANCE, str(tmp_path / "first" / "jourbot.db"), url],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "acting"
    return child


def take_over(store: Store, silent_after: float, within: float) -> float:
    """Seconds until `store` acts, trying every 50 ms as a standby would."""
    start = time.monotonic()
    while not store.acting.take("SECOND", silent_after=silent_after):
        assert time.monotonic() - start < within, f"no takeover within {within} s"
        time.sleep(0.05)
    return time.monotonic() - start


def test_a_killed_acting_process_is_taken_over_at_once(tmp_path, url):
    child = acting_process(tmp_path, url)
    standby = Store(tmp_path / "second" / "jourbot.db", SecretBox("k"), clock=time.monotonic, database=url)
    try:
        assert not standby.acting.take("SECOND", silent_after=5)
        child.send_signal(signal.SIGKILL)
        took = take_over(standby, silent_after=5, within=5)
        print(f"\ntakeover after kill -9: {took:.3f} s")
        assert standby.acting.current().holder == "SECOND"
    finally:
        child.kill()
        child.wait()
        standby.close()


def test_a_paused_acting_process_is_cut_off_and_commits_nothing_more_when_it_wakes(tmp_path, url):
    child = acting_process(tmp_path, url)
    standby = Store(tmp_path / "second" / "jourbot.db", SecretBox("k"), clock=time.monotonic, database=url)
    try:
        os.kill(child.pid, signal.SIGSTOP)
        took = take_over(standby, silent_after=2, within=10)
        print(f"\ntakeover after SIGSTOP (silent_after 2 s): {took:.3f} s")
        beats = standby.acting.current().beats
        os.kill(child.pid, signal.SIGCONT)
        assert child.wait(10) == 3
        assert child.stdout is not None and child.stdout.readline().startswith("stopped:")
        assert standby.acting.current().beats == beats, "the woken process wrote nothing"
        assert standby.acting.current().holder == "SECOND"
    finally:
        child.kill()
        child.wait()
        standby.close()
