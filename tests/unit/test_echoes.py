"""The bot's own sync showing what it sent (`MatrixClient.handed_out`): the sender's sign that the readers of a page
are getting it, so the rest of its traffic may go."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from bot.matrix.client import MatrixClient, MatrixSettings

BOT = "@jourbot:localhost"


def client(tmp_path: Path) -> MatrixClient:
    return MatrixClient(MatrixSettings("http://127.0.0.1:9", BOT, tmp_path, "pickle-key-not-secret"))


def sync_with(*events: tuple[str, str]) -> SimpleNamespace:
    """A sync response as far as the echo is concerned: (sender, event id) in one room's timeline."""
    timeline = SimpleNamespace(events=[SimpleNamespace(sender=s, event_id=e) for s, e in events])
    return SimpleNamespace(rooms=SimpleNamespace(join={"!dm:localhost": SimpleNamespace(timeline=timeline)}))


async def test_waiting_ends_when_the_bots_own_sync_shows_the_event(tmp_path):
    matrix = client(tmp_path)
    try:
        waiting = asyncio.create_task(matrix.handed_out("$page", 5))
        await asyncio.sleep(0.01)
        matrix._note_echoes(sync_with(("@anna.a:localhost", "$page")))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        assert not waiting.done(), "someone else's event with that id is no echo"
        matrix._note_echoes(sync_with((BOT, "$page")))  # type: ignore[arg-type]
        await asyncio.wait_for(waiting, 1)
    finally:
        await matrix.close()


async def test_an_echo_that_came_before_the_question_ends_it_at_once(tmp_path):
    matrix = client(tmp_path)
    try:
        matrix._note_echoes(sync_with((BOT, "$page")))  # type: ignore[arg-type]
        await asyncio.wait_for(matrix.handed_out("$page", 5), 0.5)
    finally:
        await matrix.close()


async def test_without_an_echo_the_wait_ends_after_its_time(tmp_path):
    matrix = client(tmp_path)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await matrix.handed_out("$lost", 0.1)
        assert loop.time() - started >= 0.09
        assert not matrix._echo_waiters, "nothing left behind"
    finally:
        await matrix.close()
