"""After acceptance, through the whole App with the in-memory homeserver: the alarm room, the phases and their one
line each in the police room, !klar asking for what is missing, and relaying when no room can be made."""

from __future__ import annotations

import json

from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, UNIT_ROOM, ComponentBot


async def accepted_alarm(bot: ComponentBot) -> str:
    larm = await bot.say(POLICE, "!larm Farsta två barn, pappan hotfull")
    await bot.say(ANNA, "!ok", room=bot.dm_room(ANNA))
    assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}  # the primary, and nobody else
    return larm


def alarm_rooms(bot: ComponentBot) -> list[str]:
    return list(bot.matrix.room_names)


async def test_acceptance_opens_one_encrypted_room_with_officer_and_acceptor_and_posts_the_facts_once(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        assert bot.matrix.room_names[room] == "L1 Farsta 14:02"
        assert bot.matrix.rooms[room].encrypted
        assert bot.matrix.rooms[room].members == {"@jourbot:localhost", POLICE, ANNA}
        (facts,) = bot.matrix.to_room(room)
        assert facts.body.startswith("🚨 L1 — Farsta, larm 14:02. Polis: polis1. Accepterat av Anna A")
        assert "pappan" not in facts.body  # the police's free text stays with the paged
        await bot.say(ANNA, "!ok L1", room=bot.dm_room(ANNA))  # a second acceptance is no new room
        assert alarm_rooms(bot) == [room] and len(bot.matrix.to_room(room)) == 1
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_each_phase_gives_the_police_one_line_without_free_text_and_is_stored_and_audited(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        before = len(bot.police_lines())
        await bot.advance(60)
        await bot.say(ANNA, "!påväg 20", room=room)
        await bot.advance(19 * 60)
        await bot.say(ANNA, "!framme", room=bot.dm_room(ANNA))
        await bot.advance(30 * 60)
        await bot.say(ANNA, "!skydd gjord anhörig", room=room)
        await bot.advance(10 * 60)
        await bot.say(ANNA, "!överlämnad Tomjouren", room=room)

        assert bot.police_lines()[before:] == [
            "🚗 L1: Anna A är på väg (14:03), framme ca 14:23 (om 20 min).",
            "📍 L1: Anna A är framme 14:22.",
            "🧒 L1: skyddsbedömning gjord 14:52.",
            "📋 L1: lämnas över till Tomjouren (15:02).",
        ]
        phases = bot.app.store.phases.of("L1")
        assert [(p.phase, p.eta_minutes, p.assessment_made, p.decision, p.unit) for p in phases] == [
            ("en_route", 20, None, None, None), ("arrived", None, None, None, None),
            ("assessment", None, True, "relative", None), ("handed_over", None, None, None, "tomjour")]
        audited = [json.loads(e["data"]) for e in reversed(bot.app.store.audit.entries(100))
                   if e["action"] == "phase.recorded" and e["actor"] == ANNA and e["subject"] == "L1"]
        assert [d["phase"] for d in audited] == ["en_route", "arrived", "assessment", "handed_over"]
        assert audited[2] == {"phase": "assessment", "made": True, "decision": "relative"}
        assert [s.body for s in bot.matrix.to_room(room)][1] == "L1: på väg 14:03 noterat. Polisen har fått veta."
        assert bot.matrix.to_room(UNIT_ROOM)[-1].body.startswith("✅")  # the unit room hears nothing of the phases
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_bad_arguments_and_other_people_are_answered_and_change_nothing(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        police_before = bot.police_lines()
        answers = {}
        # Bertil is not in the alarm room (the bot would remove him): he tries from the unit's room.
        for sender, text in ((ANNA, "!påväg snart"), (ANNA, "!påväg 0"), (ANNA, "!framme nu"),
                             (ANNA, "!skydd kanske"), (ANNA, "!skydd gjord hos mormor"), (ANNA, "!överlämnad"),
                             (ANNA, "!överlämnad Mars"), (BERTIL, "!framme L1"), (POLICE, "!framme")):
            event = await bot.say(sender, text, room=UNIT_ROOM if sender == BERTIL else room)
            (answers[text],) = [s.body for s in bot.answers_to(event)]
        assert bot.app.store.phases.of("L1") == []
        assert bot.police_lines() == police_before
        assert "t.ex. !påväg 20" in answers["!påväg snart"] and "Inget är ändrat" in answers["!påväg 0"]
        assert answers["!framme nu"] == "Skriv bara !framme, utan något efter. Inget är ändrat."
        assert "!skydd gjord eller !skydd ej" in answers["!skydd gjord hos mormor"]
        assert "Tomjouren" in answers["!överlämnad"] and "”Mars”" in answers["!överlämnad Mars"]
        assert answers["!framme L1"] == "Bara den som accepterade L1, eller en jourchef, kan ange hur det går."
        assert answers["!framme"] == "Tyvärr, !framme är inte tillgängligt för dig."
    finally:
        await bot.stop()


async def test_klar_asks_for_missing_phases_and_a_supervisor_may_close_anyway(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        await bot.say(ANNA, "!påväg", room=room)
        asked = await bot.say(ANNA, "!klar", room=room)
        assert [s.body for s in bot.answers_to(asked)] == [
            "L1 saknar: framme, skyddsbedömning och överlämnat. Ange det först, sedan !klar L1."]
        chef = await bot.say(CHEF, "!klar L1", room=UNIT_ROOM)
        assert [s.body for s in bot.answers_to(chef)] == [
            "L1 saknar: framme, skyddsbedömning och överlämnat. Som jourchef kan du avsluta ändå: !klar L1 ändå."]
        assert bot.app.alarms.get("L1").status == "accepted" and room not in bot.matrix.left

        await bot.say(CHEF, "!klar L1 ändå", room=UNIT_ROOM)
        assert bot.app.alarms.get("L1").status == "closed"
        assert bot.matrix.to_room(room)[-1].body == "☑️ L1 är avslutat 14:02. Jourboten lämnar rummet."
        assert bot.matrix.left == [room]
        late = await bot.say(ANNA, "!framme", room=room)
        assert [s.body for s in bot.answers_to(late)] == ["L1 är redan avslutat."]
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_all_phases_then_klar_closes_and_the_bot_leaves_the_room(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        for text in ("!enroute 15", "!arrived", "!protection not", "!handedover Testjouren", "!klar"):
            await bot.say(ANNA, text, room=room)
        assert bot.app.alarms.get("L1").status == "closed"
        assert bot.police_lines()[-1] == "☑️ L1 avslutat av Anna A 14:02."
        assert "🧒 L1: ingen skyddsbedömning gjord (14:02)." in bot.police_lines()
        assert bot.matrix.left == [room] and bot.app.store.alarm_rooms.room_of("L1") is None
    finally:
        await bot.stop()


async def test_a_supervisor_joins_the_room_by_command(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        refused = await bot.say(BERTIL, "!anslut L1", room=bot.matrix.add_room("!b:localhost", BERTIL))
        assert "!anslut" in bot.answers_to(refused)[0].body and BERTIL not in bot.matrix.rooms[room].members
        await bot.say(CHEF, "!anslut L1", room=UNIT_ROOM)
        assert CHEF in bot.matrix.rooms[room].members
        assert bot.matrix.rooms[room].members == {"@jourbot:localhost", POLICE, ANNA, CHEF}
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_where_no_room_can_be_made_officer_and_acceptor_write_through_the_bot(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    bot.matrix.refuse_rooms = True
    try:
        await accepted_alarm(bot)
        assert alarm_rooms(bot) == []
        told = "Larmrummet för L1 gick inte att skapa. Skriv till varandra med !till L1 <text> så för jag det vidare."
        assert bot.police_lines()[-1] == told and bot.matrix.to_user(ANNA)[-1].body == told
        await bot.say(POLICE, "!till L1 Porten är olåst, vi möts i trapphuset")
        assert bot.matrix.to_user(ANNA)[-1].body == "💬 L1, från polisen: Porten är olåst, vi möts i trapphuset"
        await bot.say(ANNA, "!till L1 Framme om fem", room=bot.dm_room(ANNA))
        assert bot.police_lines()[-1] == "💬 L1, från Anna A: Framme om fem"
        await bot.say(ANNA, "!framme", room=bot.dm_room(ANNA))
        assert bot.police_lines()[-1] == "📍 L1: Anna A är framme 14:02."
        assert not bot.matrix.to_user(BERTIL) and not bot.matrix.to_user(CHEF)
    finally:
        await bot.stop()


async def test_a_supervisor_may_record_a_phase_and_the_police_hear_of_the_acceptor(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        await bot.say(CHEF, "!framme L1", room=UNIT_ROOM)
        assert bot.police_lines()[-1] == "📍 L1: Anna A är framme 14:02."
        assert [(p.phase, p.by) for p in bot.app.store.phases.of("L1")] == [("arrived", CHEF)]
    finally:
        await bot.stop()


async def test_a_room_the_homeserver_cannot_make_now_is_made_once_it_is_back_without_relaying(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        bot.matrix.down = True
        await bot.say(ANNA, "!ok", room=bot.dm_room(ANNA))
        assert alarm_rooms(bot) == []
        bot.matrix.homeserver_back()
        await bot.advance(1)
        (room,) = alarm_rooms(bot)
        assert [s.body[:5] for s in bot.matrix.to_room(room)] == ["🚨 L1 "]
        assert not any("!till" in line for line in bot.police_lines())
    finally:
        await bot.stop()


async def test_a_supervisor_the_homeserver_will_not_invite_is_told_to_phone(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    bot.matrix.refuse_invites.add(CHEF)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        await bot.say(CHEF, "!anslut L1", room=UNIT_ROOM)
        assert CHEF not in bot.matrix.rooms[room].members
        assert bot.matrix.to_user(CHEF)[-1].body == (
            "Jag kunde inte bjuda in dig till larmrummet för L1. Ring den som accepterade larmet.")
    finally:
        await bot.stop()


async def test_a_cancelled_alarm_ends_its_room_too(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        await bot.say(POLICE, "!avbryt L1 fel adress")
        assert bot.matrix.to_room(room)[-1].body == "L1 är avbrutet 14:02. Jourboten lämnar rummet."
        assert bot.matrix.left == [room]
        assert not any("fel adress" in s.body for s in bot.matrix.to_room(room))
    finally:
        await bot.stop()


async def test_status_shows_how_far_the_responder_has_come_without_the_assessments_decision(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await accepted_alarm(bot)
        (room,) = alarm_rooms(bot)
        asked = await bot.say(POLICE, "!status")
        (before,) = bot.answers_to(asked)
        assert before.body.endswith("accepterat av Anna A 14:02"), before.body  # no phases yet: nothing added
        await bot.advance(60)
        await bot.say(ANNA, "!påväg 20", room=room)
        await bot.advance(20 * 60)
        await bot.say(ANNA, "!framme", room=room)
        await bot.say(ANNA, "!skydd gjord placering", room=room)
        asked = await bot.say(POLICE, "!status")
        (after,) = bot.answers_to(asked)
        assert after.body.endswith("accepterat av Anna A 14:02 · på väg, framme och skyddsbedömning"), after.body
        assert "placering" not in after.body and "hotfull" not in after.body
    finally:
        await bot.stop()
