"""Delivery: order per target across outages, failure classes, delivery deadlines, and alarm traffic first."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.channels.sender import HANDED_OUT_WAIT_S, PAGE_HEAD_START_S
from bot.matrix.port import DeliveryFailure
from tests.harness.component import ANNA, CHEF, POLICE, POLICE_ROOM, T0, UNIT_ROOM, ComponentBot
from tests.harness.fakematrix import FakeMatrix
from tests.harness.waits import handled, until


async def test_an_outage_keeps_every_targets_order_and_gives_each_page_its_whole_wait(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=30)
    try:
        await bot.say(POLICE, "!larm Farsta")
        bot.matrix.down = True
        await bot.advance(30)  # Anna's wait is over: Bertil is paged, but nothing can be sent
        await bot.advance(10)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        await bot.advance(25)  # 35 s of outage: Bertil's page has waited longer than a whole step
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}, "no step may pass undelivered"
        bot.matrix.homeserver_back()
        await bot.settle()
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        await bot.advance(29)  # Bertil has his 30 s from when his page arrived
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        await bot.advance(1)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 1}
        assert bot.police_lines() == [
            "🚨 Larm L1 (Farsta) registrerat 14:02. Söker: Anna A (Testjouren).",
            "polis1: ⏫ L1: ingen har accepterat larmet än. Söker nu även: Bertil B (Testjouren).",
            "polis1: ⏫ L1: ingen har accepterat larmet än. Söker nu även: Chef C (Testjouren).",
        ]
    finally:
        await bot.stop()


async def test_messages_to_one_room_keep_their_order_when_the_first_must_be_retried(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        bot.matrix.down = True
        first = await bot.say(POLICE, "!jour Farsta")
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(5)
        bot.matrix.down = False
        await bot.advance(120)  # past any backoff
        replies = [s for s in bot.matrix.to_room(POLICE_ROOM)]
        assert replies[0].reply_to == first, "the older reply goes first, though the alarm is more urgent"
        assert "registrerat" in replies[1].body
    finally:
        await bot.stop()


async def test_a_page_the_homeserver_refuses_for_good_moves_on_at_once_and_says_who(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        bot.matrix.refuse[ANNA] = DeliveryFailure("too_large", "M_TOO_LARGE: event too large")
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
        assert bot.police_lines()[1:] == [
            "polis1: ⚠️ L1: Anna A kunde inte nås (meddelandet var för stort för servern).",
            "polis1: ⏫ L1: ingen har accepterat larmet än. Söker nu även: Bertil B (Testjouren).",
        ]
        assert any("Anna A kunde inte nås" in s.body for s in bot.matrix.to_user(CHEF))
        tries = [a for a in bot.matrix.attempts if a[0] == bot.dm_room(ANNA)]
        await bot.advance(600)
        assert [a for a in bot.matrix.attempts if a[0] == bot.dm_room(ANNA)] == tries, "never retried"
    finally:
        await bot.stop()


async def test_a_person_without_an_account_is_unreachable_and_the_chain_goes_on(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        bot.matrix.unknown_users.add(ANNA)
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
        assert "polis1: ⚠️ L1: Anna A kunde inte nås (kontot finns inte på servern)." in bot.police_lines()
    finally:
        await bot.stop()


async def test_a_page_not_delivered_in_time_counts_as_unreachable_and_still_goes_out_later(tmp_path):
    bot = await ComponentBot.start(tmp_path, alarms_toml="page_delivery_s = 20")
    try:
        bot.matrix.refuse[ANNA] = DeliveryFailure("server", "502 Bad Gateway")  # transient, again and again
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(19)
        assert bot.paged() == {"anna.a": 0, "bertil.b": 0, "chef.c": 0}
        assert bot.metric("jourbot_pages_overdue") == 0
        await bot.advance(1)
        assert bot.paged() == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
        assert "polis1: ⚠️ L1: Anna A kunde inte nås (sökningen kom inte fram i tid)." in bot.police_lines()
        # /metrics, for the alert JourbotPageUndelivered: the gauge while it waits, the counter for good.
        assert bot.metric("jourbot_pages_overdue") == 1 and bot.metric("jourbot_pages_late_total") == 1
        del bot.matrix.refuse[ANNA]
        await bot.advance(120)
        assert bot.paged()["anna.a"] == 1, "the late page still reaches her: she may yet answer"
        assert bot.metric("jourbot_pages_overdue") == 0 and bot.metric("jourbot_pages_late_total") == 1
    finally:
        await bot.stop()


async def test_a_police_room_the_bot_was_thrown_out_of_is_the_supervisors_to_phone(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        bot.matrix.refuse[POLICE_ROOM] = DeliveryFailure("forbidden", "M_FORBIDDEN: not in room")
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        told = [s.body for s in bot.matrix.to_user(CHEF)]
        assert any("kunde inte skriva i polisrummet" in t and "L1" in t for t in told)
    finally:
        await bot.stop()


async def test_no_amount_of_chatter_delays_a_page(tmp_path):
    """300 answers to ten rooms, each send taking 20 ms, are queued before the alarm: the page still leaves first."""
    bot = await ComponentBot.start(tmp_path, bot_toml="command_rate_count = 1000",
                                   matrix=FakeMatrix(send_delay=0.02))
    try:
        chatter_rooms = [bot.matrix.add_room(f"!chatter{k}:localhost", CHEF) for k in range(10)]
        events = [bot.event(CHEF, chatter_rooms[k % 10], "!jour") for k in range(300)]
        events.append(bot.event(POLICE, POLICE_ROOM, "!larm Farsta"))
        await bot.matrix.feed(*events)
        await bot.settle()
        (page,) = bot.matrix.pages_to(ANNA)
        chatter = [s for s in bot.matrix.sent if s.room_id in chatter_rooms]
        assert len(chatter) == 300
        before = [s for s in chatter if s.at < page.at]
        assert len(before) <= 60, f"{len(before)} of 300 answers went before the page"
    finally:
        await bot.stop()


async def test_a_restart_with_messages_in_flight_sends_each_once(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        bot.matrix.down = True
        await bot.say(POLICE, "!larm Farsta två barn")
        bot = await bot.restart()
        bot.matrix.homeserver_back()
        await bot.settle()
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert len([line for line in bot.police_lines() if "registrerat" in line]) == 1
    finally:
        await bot.stop()


async def test_a_slow_room_does_not_hold_up_a_page(tmp_path):
    """Independent targets are served at once: one slow room does not hold up another's page."""
    bot = await ComponentBot.start(tmp_path)
    try:
        bot.matrix.refuse[POLICE_ROOM] = DeliveryFailure("server", "503")  # the police room is slow to accept
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert bot.police_lines() == []
        del bot.matrix.refuse[POLICE_ROOM]
        await bot.advance(60)  # past the room's backoff, within Anna's wait
        assert bot.police_lines() == ["🚨 Larm L1 (Farsta) registrerat 14:02. Söker: Anna A (Testjouren)."]
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_after_a_restart_the_direct_rooms_are_made_ready_before_any_page(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        anna_room = bot.dm_room(ANNA)
        bot = await bot.restart()
        await until(lambda: anna_room in bot.matrix.prepared, 5, "Anna's direct room made ready")
    finally:
        await bot.stop()


def _logged_sends(matrix: FakeMatrix, hold: asyncio.Event | None = None) -> list[tuple[str, str]]:
    """("start" | "end", room) of every send in order; with `hold`, a send that must reach Anna waits for it."""
    log: list[tuple[str, str]] = []
    send = matrix.send

    async def logged(room_id: str, content: dict[str, Any], txn_id: str, must_reach: str | None = None,
                     **more: Any) -> str:
        log.append(("start", room_id))
        if hold is not None and must_reach == ANNA:
            await hold.wait()
        try:
            return await send(room_id, content, txn_id, must_reach, **more)
        finally:
            log.append(("end", room_id))

    matrix.send = logged  # type: ignore[method-assign]
    return log


async def test_a_page_goes_out_alone_and_the_polices_confirmation_after_it(tmp_path):
    """The homeserver stores one event after another: a confirmation sent beside the page would hold the page up."""
    bot = await ComponentBot.start(tmp_path, matrix=FakeMatrix(send_delay=0.02))
    try:
        log = _logged_sends(bot.matrix)
        await bot.say(POLICE, "!larm Farsta")
        anna = bot.dm_room(ANNA)
        assert log[:2] == [("start", anna), ("end", anna)], log  # the police's and the unit's lines after it
        assert {("start", POLICE_ROOM), ("start", UNIT_ROOM)} <= set(log[2:])
    finally:
        await bot.stop()


async def test_the_polices_acceptance_goes_out_alone_and_the_alarm_room_after_it(tmp_path):
    """The police wait for "accepterat" as a responder waits for a page: the alarm room made beside it, and the
    acceptor's answer, would hold it up."""
    bot = await ComponentBot.start(tmp_path, matrix=FakeMatrix(send_delay=0.02))
    try:
        await bot.say(POLICE, "!larm Farsta")
        log = _logged_sends(bot.matrix)
        create = bot.matrix.create_alarm_room

        async def logged_create(name: str, invite: list[str]) -> str:
            log.append(("start", "create alarm room"))
            return await create(name, invite)

        bot.matrix.create_alarm_room = logged_create  # type: ignore[method-assign]
        anna = bot.dm_room(ANNA)
        await bot.say(ANNA, "!ok L1", room=anna)
        await until(lambda: ("start", "create alarm room") in log, 5, "the alarm room made")
        assert log[:2] == [("start", POLICE_ROOM), ("end", POLICE_ROOM)], log
        assert {("start", "create alarm room"), ("start", anna), ("start", UNIT_ROOM)} <= set(log[2:]), log
        assert any("accepterat av Anna A" in line for line in bot.police_lines())
    finally:
        await bot.stop()


async def test_a_page_that_hangs_holds_the_rest_back_for_a_moment_only(tmp_path):
    """However long pages take (a slow homeserver, a burst), a message waits for them PAGE_HEAD_START_S at most."""
    clock = [T0]
    bot = await ComponentBot.start(tmp_path, clock=clock)
    hold = asyncio.Event()
    try:
        log = _logged_sends(bot.matrix, hold)
        larm = bot.event(POLICE, POLICE_ROOM, "!larm Farsta")
        await bot.matrix.feed(larm)
        await handled(bot.app, larm.event_id, 5)  # the page and the police's confirmation are queued
        await until(lambda: log, 5, "the page's send to start")
        anna = bot.dm_room(ANNA)
        # The sender has started what it would: the page alone (a send it had started would be in flight).
        assert set(bot.app.sender._in_flight) == {("user", ANNA)}
        assert log == [("start", anna)], "the police's confirmation waits for the page"
        clock[0] += PAGE_HEAD_START_S
        bot.app.sender.wake()
        await until(lambda: ("end", POLICE_ROOM) in log, 5, "the police's confirmation sent")
        assert log[0] == ("start", anna) and ("end", POLICE_ROOM) in log, "but not for longer"
        assert ("end", anna) not in log
        hold.set()
        await bot.settle()
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        hold.set()
        await bot.stop()


async def test_the_rest_waits_until_the_homeserver_has_handed_the_page_out(tmp_path):
    """When the page's send is answered, the responder's sync is still being made: the police's confirmation sent
    then delayed it by a third. It goes once the bot's own sync shows the page."""
    bot = await ComponentBot.start(tmp_path)
    bot.matrix.echoes = asyncio.Event()
    try:
        log = _logged_sends(bot.matrix)
        await bot.matrix.feed(bot.event(POLICE, POLICE_ROOM, "!larm Farsta"))
        anna = bot.dm_room(ANNA)
        await until(lambda: ("end", anna) in log and bot.matrix.handed_out_asked, 5, "the page sent")
        await asyncio.sleep(0.05)
        assert log == [("start", anna), ("end", anna)], "nothing else while the page is being handed out"
        bot.matrix.echoes.set()
        await until(lambda: ("end", POLICE_ROOM) in log, 5, "the police's confirmation sent")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_page_whose_echo_never_comes_holds_the_rest_back_only_until_that_wait_runs_out(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    bot.matrix.echoes = asyncio.Event()  # never set: the bot's own sync is slow, or lost the page in a gap
    try:
        log = _logged_sends(bot.matrix)
        await bot.matrix.feed(bot.event(POLICE, POLICE_ROOM, "!larm Farsta"))
        anna = bot.dm_room(ANNA)
        await until(lambda: ("end", anna) in log, 5, "the page sent")
        sent_at = asyncio.get_running_loop().time()
        await until(lambda: ("end", POLICE_ROOM) in log, 5, "the police's confirmation sent")
        assert asyncio.get_running_loop().time() - sent_at >= HANDED_OUT_WAIT_S * 0.9
        assert bot.police_lines()[0].startswith("🚨 Larm L1 (Farsta) registrerat")
    finally:
        await bot.stop()


async def test_the_send_loop_ends_when_cancelled_even_as_it_is_woken(tmp_path):
    """A stopped (or killed, in the tests of instances) App cancels its send loop; a wake-up arriving in the same
    turn of the event loop (a landing page's, a send's) must not swallow that cancellation and keep it running."""
    bot = await ComponentBot.start(tmp_path)
    try:
        loop_task = next(t for t in asyncio.all_tasks() if t.get_name() == "outbox")
        await asyncio.sleep(0.01)  # it waits to be woken
        bot.app.sender.wake()
        await asyncio.sleep(0)  # the wake-up is done; the loop has not run yet
        loop_task.cancel()
        done, _ = await asyncio.wait({loop_task}, timeout=2)
        assert done and loop_task.cancelled()
    finally:
        await bot.stop()
