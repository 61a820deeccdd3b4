"""After a fault — the bot down, the homeserver down — answers given in time count, nobody is passed over for an
outage, and what must come last comes last. Every test asserts who was paged and that nobody else was."""

from __future__ import annotations

import pytest

from tests.harness.component import ANNA, POLICE, POLICE_ROOM, ComponentBot


async def test_an_ok_sent_while_the_bot_was_down_before_the_deadline_stops_the_alarm_without_escalation(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.stop()
        # Anna answers 0.6 s after her page, while the bot is down; it comes back after her step's deadline.
        bot.matrix.missed = [bot.event(ANNA, page.room_id, "!ok", origin_ts=bot.now + 0.6)]
        bot._clock[0] += 120  # type: ignore[index]
        bot = await bot.restart()
        await bot.advance(0)
        assert bot.app.alarms.get("L1").status == "accepted"
        assert not any("⏫" in line for line in bot.police_lines())
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_an_avbryt_sent_while_the_bot_was_down_cancels_without_escalation(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60)
    try:
        larm = await bot.say(POLICE, "!larm Farsta")
        await bot.stop()
        bot.matrix.missed = [bot.event(POLICE, POLICE_ROOM, "!avbryt L1 fel adress", origin_ts=bot.now + 5)]
        bot._clock[0] += 300  # type: ignore[index]
        bot = await bot.restart()
        await bot.advance(0)
        assert bot.app.alarms.get("L1").status == "cancelled"
        lines = [s.body for s in bot.answers_to(larm)]
        assert not any("⏫" in line or "Ingen har accepterat" in line for line in lines)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_deadlines_wait_while_the_homeserver_is_away_and_a_page_never_sent_gets_its_time(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=30)
    try:
        bot.matrix.down = True
        bot.matrix.health.consecutive_errors = 1  # the sync fails too
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(200)  # far past Anna's page's delivery deadline and her step's provisional deadline
        assert not bot.app.alarms.get("L1").unreachable, "nobody is unreachable because the homeserver was"
        assert bot.paged() == {"anna.a": 0, "bertil.b": 0, "chef.c": 0}
        bot.matrix.health.consecutive_errors = 0
        bot.matrix.homeserver_back(down_s=200)
        await bot.settle()
        await bot.advance(0)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}  # her page, at once, and her whole wait
        await bot.advance(29)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        await bot.advance(1)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        assert not any("kunde inte nås" in line for line in bot.police_lines())
    finally:
        await bot.stop()


async def test_the_answer_to_klar_in_an_alarm_room_comes_before_the_farewell(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.say(ANNA, "!ok", room=page.room_id)
        (room,) = list(bot.matrix.room_names)
        for phase in ("!påväg 10", "!framme", "!skydd gjord", "!överlämnad Testjouren"):
            await bot.say(ANNA, phase, room=room)
        klar = await bot.say(ANNA, "!klar", room=room)
        said = [s for s in bot.matrix.to_room(room)]
        answer = next(i for i, s in enumerate(said) if s.reply_to == klar)
        farewell = next(i for i, s in enumerate(said) if "lämnar" in s.body or "avslutat" in s.body and i != answer)
        assert answer < farewell and room in bot.matrix.left
    finally:
        await bot.stop()


def test_last_words_run_last_and_go_with_a_rolled_back_savepoint(tmp_path):
    from bot.store.db import SqliteDatabase

    db = SqliteDatabase(tmp_path / "t.db")
    db.execute("CREATE TABLE t (v TEXT)")
    with db.transaction():
        db.before_commit(lambda: db.execute("INSERT INTO t VALUES ('last')"))
        with pytest.raises(RuntimeError), db.transaction():
            db.before_commit(lambda: db.execute("INSERT INTO t VALUES ('rolled back')"))
            raise RuntimeError
        db.execute("INSERT INTO t VALUES ('first')")
    assert [r[0] for r in db.execute("SELECT v FROM t ORDER BY rowid")] == ["first", "last"]
    db.close()
