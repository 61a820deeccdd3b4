"""The store is the timer: deadlines survive a rolled-back change, a lost wake-up and a restart."""

from __future__ import annotations

import time

import pytest

from tests.harness.component import ANNA, POLICE, ComponentBot
from tests.harness.waits import until


async def wait_until_paged(bot: ComponentBot, user: str, timeout: float) -> float:
    """Real seconds until `user` has a page."""
    started = time.monotonic()
    await until(lambda: bot.matrix.pages_to(user), timeout, f"{user} paged")
    return time.monotonic() - started


async def test_a_rolled_back_clear_leaves_the_deadline_armed(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=1, live=True, timer_interval=30)
    try:
        await bot.say(POLICE, "!larm Farsta")
        due = bot.app.store.deadlines.get("L1")
        assert due is not None
        with pytest.raises(RuntimeError), bot.app.store.transaction():
            bot.app.store.deadlines.clear("L1")  # as an accept would, in a transaction that then fails
            raise RuntimeError("later in the same transaction")
        assert bot.app.store.deadlines.get("L1") == due
        waited = await wait_until_paged(bot, "@bertil.b:localhost", 5)
        assert waited < 1.5, "escalated on time by the wake-up armed after the last commit"
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_lost_wake_up_is_caught_by_the_sweep_of_the_store(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=1, live=True, timer_interval=0.5)
    try:
        await bot.say(POLICE, "!larm Farsta")
        bot.app.timers.remove_wake()  # the scheduler's job, removed behind the bot's back
        due = bot.app.store.deadlines.get("L1")
        assert due is not None
        await wait_until_paged(bot, "@bertil.b:localhost", 5)
        late = time.time() - due
        assert late < 1.0, f"escalated {late:.2f} s after the deadline"
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_deadline_that_passed_while_the_bot_was_down_fires_once_at_start(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.stop()
        bot._clock[0] += 600  # ten minutes down
        bot = await bot.restart()
        await bot.advance(0)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        bot = await bot.restart()
        await bot.advance(0)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}, "not repeated by a second restart"
    finally:
        await bot.stop()


async def test_an_accepted_alarm_has_no_deadline_left(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.say(ANNA, "!ok", room=page.room_id)
        assert bot.app.store.deadlines.count() == 0
        await bot.advance(600)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()
