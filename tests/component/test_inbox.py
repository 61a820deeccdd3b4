"""What comes in: recorded once, handled once, in order; idle traffic costs no write; failures answered."""

from __future__ import annotations

import pytest

from tests.harness.component import ANNA, POLICE, POLICE_ROOM, ComponentBot


async def test_a_replayed_event_has_no_second_effect(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        event = bot.event(POLICE, POLICE_ROOM, "!larm Farsta")
        await bot.matrix.feed(event)
        await bot.matrix.feed(event)  # the homeserver sends the batch again (a lost response, a restart)
        await bot.settle()
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert len(bot.answers_to(event.event_id)) == 1
    finally:
        await bot.stop()


async def test_batches_without_commands_write_nothing_and_the_position_catches_up_with_the_next_command(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        store = bot.app.store
        before = store.sync.token()
        changes = store.db.conn.total_changes
        for _ in range(20):
            await bot.matrix.feed(bot.event(POLICE, POLICE_ROOM, "bara prat, inget kommando"))
        assert store.db.conn.total_changes == changes, "idle traffic must not write"
        assert store.sync.token() == before
        await bot.say(POLICE, "!jour Farsta")
        assert store.sync.token() != before
        assert store.sync.heads()[POLICE_ROOM].event_id.startswith("$in")
    finally:
        await bot.stop()


async def test_the_position_kept_in_memory_is_written_when_the_bot_stops(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    await bot.matrix.feed(bot.event(POLICE, POLICE_ROOM, "hej"), next_batch="s-last")
    bot = await bot.restart()
    try:
        assert bot.matrix.since == "s-last"
    finally:
        await bot.stop()


async def test_a_command_older_than_the_catch_up_window_gets_a_notice_instead(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        stale = bot.event(POLICE, POLICE_ROOM, "!larm Farsta", origin_ts=bot.now + 60)
        await bot.advance(3600)  # it reaches the bot an hour after it was sent (the bot was down)
        await bot.matrix.feed(stale)
        await bot.settle()
        (notice,) = bot.answers_to(stale.event_id)
        assert "äldre än 15 minuter" in notice.body and "från 14:03" in notice.body  # Stockholm time
        assert bot.paged() == {"anna.a": 0, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_failing_handler_is_answered_and_spoils_nothing_else(tmp_path, monkeypatch):
    bot = await ComponentBot.start(tmp_path)
    try:
        def broken(*_args: object, **_kwargs: object) -> str:
            raise RuntimeError("bug")

        monkeypatch.setattr("handlers.roster_commands.jour_reply", broken)
        failing = bot.event(POLICE, POLICE_ROOM, "!jour Farsta")
        larm = bot.event(POLICE, POLICE_ROOM, "!larm Farsta")
        await bot.matrix.feed(failing, larm)
        await bot.settle()
        (error,) = bot.answers_to(failing.event_id)
        assert "Något gick fel" in error.body and "!jour" in error.body
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert bot.app.store.events.outcome(failing.event_id) == "error"
    finally:
        await bot.stop()


async def test_an_undecryptable_command_is_retried_when_its_key_arrives(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        locked = bot.event(POLICE, POLICE_ROOM, kind="undecryptable")
        locked = locked.__class__(**{**locked.__dict__, "source": {"event_id": locked.event_id}})
        await bot.matrix.feed(locked)
        assert bot.matrix.key_requests == [locked.event_id]
        bot.matrix.decryptable[locked.event_id] = bot.event(POLICE, POLICE_ROOM, "!larm Farsta")
        assert await bot.app.undecryptable.retry()
        await bot.app.inbox.process_pending()
        await bot.settle()
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


@pytest.mark.parametrize("count", [5])
async def test_the_rate_limit_refuses_the_sixth_alarm_and_pages_nobody_for_it(tmp_path, count):
    bot = await ComponentBot.start(tmp_path)
    try:
        for _ in range(count):
            await bot.say(POLICE, "!larm Farsta")
        refused = await bot.say(POLICE, "!larm Farsta igen")
        assert "Inget nytt larm registrerat" in bot.answers_to(refused)[0].body
        assert bot.paged()["anna.a"] == count and len(bot.app.alarms.unfinished()) == count
        assert not bot.matrix.pages_to(ANNA)[-1].body.count("igen")
    finally:
        await bot.stop()
