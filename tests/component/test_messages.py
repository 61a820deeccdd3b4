"""Messages as real clients send them: reply fallbacks, any white space, edits, redactions, and !avbryt."""

from __future__ import annotations

import logging
from typing import Any

from bot.matrix.content import MAX_CONTENT_BYTES, content_size
from bot.matrix.port import Incoming
from bot.matrix.reading import read_message
from tests.harness.component import ANNA, CHEF, POLICE, POLICE_ROOM, UNIT_ROOM, ComponentBot

OTHER_OFFICER = "@polis2:localhost"


async def send_content(bot: ComponentBot, sender: str, room: str, content: dict[str, Any]) -> str:
    """A message as a client sends it, read the way the bot's Matrix boundary reads it."""
    reading = read_message(content)
    event = bot.event(sender, room, reading.body, reading.reply_to)
    event = Incoming(event.kind, event.event_id, event.room_id, event.sender, event.origin_ts, reading.body,
                     reading.reply_to, replaces=reading.replaces, sender_device=event.sender_device)
    await bot.matrix.feed(event)
    await bot.settle()
    return event.event_id


def edit(original: str, new_body: str, element_style: bool = True) -> dict[str, Any]:
    return {
        "msgtype": "m.text",
        "body": ("* " if element_style else "") + new_body,
        "m.new_content": {"msgtype": "m.text", "body": new_body},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }


async def test_an_ok_reply_with_the_classic_quoted_fallback_accepts(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        larm = await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        await send_content(bot, ANNA, page.room_id, {
            "msgtype": "m.text",
            "body": f"> <@jourbot:localhost> {page.body.splitlines()[0]}\n> Ta larmet: !ok L1\n\nok",
            "format": "org.matrix.custom.html",
            "formatted_body": "<mx-reply><blockquote>…</blockquote></mx-reply>ok",
            "m.relates_to": {"m.in_reply_to": {"event_id": page.event_id}},
        })
        assert any("L1 accepterat av Anna A" in s.body for s in bot.answers_to(larm))
    finally:
        await bot.stop()


async def test_a_tab_or_a_no_break_space_after_the_command_word_still_raises_the_alarm(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm\tFarsta två barn")
        await bot.say(POLICE, "!larm\u00a0Farsta\u00a0strand")
        assert bot.paged() == {"anna.a": 2, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_an_edit_of_a_raised_alarm_never_raises_a_second_and_says_how_to_cancel(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        larm = await bot.say(POLICE, "!larm Farsta två barn")
        for element_style in (False, True):
            fixed = await send_content(bot, POLICE, POLICE_ROOM, edit(larm, "!larm Farsta tre barn", element_style))
            (answer,) = bot.answers_to(fixed) or [s for s in bot.answers_to(larm) if "!avbryt L1" in s.body][-1:]
            assert "L1" in answer.body and "!avbryt L1" in answer.body
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert [a.id for a in bot.app.alarms.all()] == ["L1"]
    finally:
        await bot.stop()


async def test_an_edit_that_corrects_a_refused_alarm_raises_it_once(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        typo = await bot.say(POLICE, "!larm Frasta två barn")
        assert "Inget larm registrerat" in bot.answers_to(typo)[0].body
        await send_content(bot, POLICE, POLICE_ROOM, edit(typo, "!larm Farsta två barn"))
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert "två barn" in bot.matrix.pages_to(ANNA)[0].body
        assert any("Larm L1 (Farsta) registrerat" in s.body for s in bot.answers_to(typo)), "threaded on the original"
        await send_content(bot, POLICE, POLICE_ROOM, edit(typo, "!larm Farsta tre barn"))
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}, "a second edit raises nothing more"
    finally:
        await bot.stop()


async def test_a_redacted_alarm_is_not_left_silently_as_it_was(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        larm = await bot.say(POLICE, "!larm Farsta")
        redaction = bot.event(POLICE, POLICE_ROOM, kind="redaction")
        redaction = Incoming("redaction", redaction.event_id, POLICE_ROOM, POLICE, redaction.origin_ts, redacts=larm)
        await bot.matrix.feed(redaction)
        await bot.settle()
        told = [s.body for s in bot.matrix.to_room(POLICE_ROOM) if "togs bort" in s.body]
        assert len(told) == 1 and "L1" in told[0] and "!avbryt L1" in told[0]
        assert bot.app.alarms.get("L1").status == "open"  # type: ignore[union-attr]
    finally:
        await bot.stop()


async def test_the_officer_who_raised_it_cancels_and_everyone_paged_is_told(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta")
        cancel = await bot.say(POLICE, "!avbryt L1 fel adress")
        assert any("L1" in s.body and "avbrutet" in s.body for s in bot.answers_to(cancel))
        assert any("L1" in s.body and "avbrutits" in s.body for s in bot.matrix.to_user(ANNA))
        assert any("L1" in s.body and "avbrutet" in s.body for s in bot.matrix.to_room(UNIT_ROOM))
        assert not any("fel adress" in s.body for s in bot.matrix.sent), "the reason is stored, not spread"
        await bot.advance(600)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}, "a cancelled alarm escalates no further"
        assert bot.app.alarms.figures(bot.app.alarms.get("L1").raised_at, bot.app.alarms.get("L1").raised_at  # type: ignore[union-attr]
                                      + __import__("datetime").timedelta(hours=1)).cancelled == 1
    finally:
        await bot.stop()


async def test_another_officer_cannot_cancel_but_a_supervisor_can(tmp_path):
    bot = await ComponentBot.start(tmp_path, more_police=(OTHER_OFFICER,))
    try:
        await bot.say(POLICE, "!larm Farsta")
        refused = await bot.say(OTHER_OFFICER, "!avbryt L1")
        assert bot.app.alarms.get("L1").status == "open"  # type: ignore[union-attr]
        assert "Bara den som larmade" in bot.answers_to(refused)[0].body
        chef_room = bot.matrix.add_room("!chef:localhost", CHEF)
        await bot.say(CHEF, "!avbryt L1 dubblett", room=chef_room)
        assert bot.app.alarms.get("L1").status == "cancelled"  # type: ignore[union-attr]
    finally:
        await bot.stop()


async def test_no_free_text_and_no_unrecognised_word_reaches_the_log(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta MARKÖR-FRITEXT-1 två barn")
        await bot.say(POLICE, "!MARKÖR-ORD-2 Farsta")
        await bot.say(POLICE, "!larm MARKÖR-OMRÅDE-3 något")
        await bot.say(POLICE, "!jour MARKÖR-ARG-4")
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.say(ANNA, "!nej L1 MARKÖR-ORSAK-5", room=page.room_id)
        assert "MARKÖR-FRITEXT-1" in page.body  # it was planted where it belongs
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "larm" in logged  # the recognised command words are there
        for marker in ("MARKÖR-FRITEXT-1", "MARKÖR-ORD-2", "MARKÖR-OMRÅDE-3", "MARKÖR-ARG-4", "MARKÖR-ORSAK-5"):
            assert marker not in logged and marker.casefold() not in logged.casefold()
    finally:
        await bot.stop()


async def test_a_long_report_is_paged_shortened_and_the_acceptor_gets_all_of_it(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        report = " ".join(f"rad{k}-åäö" for k in range(4000))  # about 44,000 characters, many of them å/ä/ö
        larm = await bot.say(POLICE, f"!larm Farsta {report}")
        (page,) = bot.matrix.pages_to(ANNA)
        assert content_size(page.content) <= MAX_CONTENT_BYTES
        assert "rad0-åäö" in page.body and "den som accepterar larmet får resten" in page.body
        assert any("fritexten var för lång" in s.body for s in bot.answers_to(larm))
        await bot.say(ANNA, "!ok", room=page.room_id)
        rest = [s for s in bot.matrix.to_user(ANNA) if "fortsättning" in s.body]
        assert rest and all(content_size(s.content) <= MAX_CONTENT_BYTES for s in rest)
        shown = page.body.split("\n", 2)[1]
        received = shown.split(" … (texten är lång")[0] + "".join(s.body.split(":\n", 1)[1] for s in rest)
        assert received.replace(" ", "") == report.replace(" ", ""), "the acceptor can read every word"
    finally:
        await bot.stop()


async def test_a_short_report_is_paged_whole_and_nothing_more_is_sent(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        larm = await bot.say(POLICE, "!larm Farsta två barn i lägenheten")
        page = bot.matrix.pages_to(ANNA)[0]
        assert "två barn i lägenheten" in page.body and "får resten" not in page.body
        await bot.say(ANNA, "!ok", room=page.room_id)
        assert not [s for s in bot.matrix.to_user(ANNA) if "fortsättning" in s.body]
        assert not [s for s in bot.answers_to(larm) if "för lång" in s.body]
    finally:
        await bot.stop()
