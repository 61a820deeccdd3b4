"""What comes in: recorded once, handled once, in order; idle traffic costs no write; failures answered."""

from __future__ import annotations

import pytest

from tests.harness.component import ANNA, CHEF, POLICE, POLICE_ROOM, ComponentBot


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
async def test_an_alarm_past_the_limit_is_paged_and_the_supervisors_told_once_per_window(tmp_path, count):
    bot = await ComponentBot.start(tmp_path, wait_s=3600)
    try:
        for k in range(count):
            await bot.say(POLICE, f"!larm Farsta hem {k}")
        assert bot.matrix.to_user(CHEF) == []
        sixth = await bot.say(POLICE, "!larm Farsta hem 5")
        assert bot.answers_to(sixth)[0].body.startswith("🚨 Larm L6 (Farsta) registrerat")
        assert bot.paged() == {"anna.a": count + 1, "bertil.b": 0, "chef.c": 0}
        assert "hem 5" in bot.matrix.pages_to(ANNA)[-1].body
        (told,) = bot.matrix.to_user(CHEF)
        assert told.body == ("Chef C: ⚠️ polis1 har larmat 6 gånger på 10 minuter (senast L6, Farsta). Alla larm söks"
                             " som vanligt; ring polisen om något verkar fel.")
        assert told.content["m.mentions"] == {"user_ids": [CHEF]}
        await bot.say(POLICE, "!larm Farsta hem 6")
        assert len(bot.matrix.to_user(CHEF)) == 1, "once per window"
        await bot.advance(601)
        for k in range(7, 12):
            await bot.say(POLICE, f"!larm Farsta hem {k}")
        assert len(bot.matrix.to_user(CHEF)) == 1, "five in the new window: within the limit"
        await bot.say(POLICE, "!larm Farsta hem 12")
        assert len(bot.matrix.to_user(CHEF)) == 2
        assert bot.paged() == {"anna.a": 13, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_the_same_area_and_text_again_within_minutes_is_the_same_alarm(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=3600)
    try:
        await bot.say(POLICE, "!larm Farsta två barn, pappan hotfull")
        again = await bot.say(POLICE, "!larm farsta  Två barn, pappan hotfull")
        assert bot.answers_to(again)[0].body.startswith(
            "ℹ️ Samma larm som L1 Farsta 14:02 — söker: Anna A. Inget nytt larm registrerat.")
        other = await bot.say(POLICE, "!larm Farsta två barn, pappan hotfull, Storgatan 3")
        assert bot.answers_to(other)[0].body.startswith("🚨 Larm L2 (Farsta)")
        await bot.advance(301)
        later = await bot.say(POLICE, "!larm Farsta två barn, pappan hotfull")
        assert bot.answers_to(later)[0].body.startswith("🚨 Larm L3 (Farsta)")
        await bot.say(POLICE, "!avbryt L3 fel")
        anew = await bot.say(POLICE, "!larm Farsta två barn, pappan hotfull")
        assert bot.answers_to(anew)[0].body.startswith("🚨 Larm L4 (Farsta)"), "a cancelled one is raised anew"
        assert bot.paged() == {"anna.a": 4, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()
