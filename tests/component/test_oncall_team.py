"""Beyond the single responder, through the whole App with the in-memory homeserver: a unit that goes out two by two,
the alarm room for both, and `!lämna` (an accepted alarm handed to someone else, who takes it by accepting)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.harness.component import ANNA, BERTIL, BOT, CHEF, POLICE, ROSTERS, UNIT_ROOM, ComponentBot


def two_by_two(tmp_path: Path) -> Path:
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    unit = folder / "testjour.toml"
    text = unit.read_text()
    unit.write_text(text.replace('phone = "08-000 111 22"\n', 'phone = "08-000 111 22"\nresponders_needed = 2\n'))
    return folder


async def test_a_two_person_unit_pages_on_until_the_second_accepts_and_both_are_in_the_alarm_room(tmp_path):
    bot = await ComponentBot.start(tmp_path, rosters=two_by_two(tmp_path))
    try:
        await bot.say(POLICE, "!larm Farsta två barn")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        await bot.say(ANNA, "!ok", room=bot.dm_room(ANNA))
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}  # at once: Anna's step had nobody else
        assert "två barn" in bot.matrix.pages_to(BERTIL)[0].body
        await bot.say(BERTIL, "!ok", room=bot.dm_room(BERTIL))
        lines = bot.police_lines()
        assert any("Anna A (Testjouren) accepterat 14:02 (1 av 2)" in line for line in lines)
        assert any("Bertil B (Testjouren) accepterat 14:02 (2 av 2)" in line for line in lines)
        (room,) = bot.matrix.room_names
        assert bot.matrix.rooms[room].members == {BOT, POLICE, ANNA, BERTIL}
        bodies = [s.body for s in bot.matrix.to_room(room)]
        assert bodies[0].startswith("🚨 L1 — Farsta, larm 14:02. Polis: polis1. Accepterat av Anna A (Testjouren)")
        assert bodies[1] == "Bertil B har också tagit L1 (14:02), 2 av 2."
        # Either of the two records the phases.
        await bot.say(BERTIL, "!påväg", room=room)
        assert bot.police_lines()[-1] == "🚗 L1: Bertil B är på väg (14:02)."
        await bot.advance(600)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        alarm = bot.app.alarms.get("L1")
        assert alarm is not None and alarm.status == "accepted" and alarm.holders == (ANNA, BERTIL)
    finally:
        await bot.stop()


async def test_lamna_hands_an_accepted_alarm_to_a_named_person_who_takes_it_and_records_the_phases(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta två barn")
        await bot.say(ANNA, "!ok", room=bot.dm_room(ANNA))
        await bot.say(ANNA, "!påväg 20", room=bot.dm_room(ANNA))
        (room,) = bot.matrix.room_names
        asked = await bot.say(ANNA, f"!lämna L1 till {BERTIL}", room=room)
        assert "Jag har bett Bertil B ta över L1" in bot.answers_to(asked)[0].body
        (handoff,) = bot.matrix.pages_to(BERTIL)
        assert handoff.body.startswith("Bertil B: 🔄 Anna A ber dig ta över larm L1 — Farsta")
        assert "två barn" in handoff.body
        await bot.react(BERTIL, bot.dm_room(BERTIL), handoff.event_id)
        assert bot.police_lines()[-1] == ("polis1: 🔄 L1: Bertil B (Testjouren) har tagit över efter Anna A 14:02"
                                          " — tel 08-000 111 22")
        assert bot.matrix.rooms[room].members == {BOT, POLICE, ANNA, BERTIL}
        assert bot.matrix.to_room(room)[-1].body == "🔄 Bertil B har tagit över L1 (14:02). Faserna hittills står kvar."
        assert any("Bertil B har tagit över L1" in s.body for s in bot.matrix.to_user(ANNA))
        await bot.say(BERTIL, "!framme", room=room)
        assert [p.phase for p in bot.app.store.phases.of("L1")] == ["en_route", "arrived"]
        assert [p.by for p in bot.app.store.phases.of("L1")] == [ANNA, BERTIL]
        refused = await bot.say(ANNA, "!framme", room=room)
        assert "Bara den som accepterade L1" in bot.answers_to(refused)[0].body
        actions = [e["action"] for e in bot.app.store.audit.about("L1")]
        assert "alarm.handoff_asked" in actions and "alarm.handed_off" in actions
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
    finally:
        await bot.stop()


async def test_lamna_without_a_name_asks_whoever_else_is_on_call_now_and_a_no_leaves_it_with_the_holder(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.say(ANNA, "!ok", room=bot.dm_room(ANNA))
        await bot.say(ANNA, "!lämna", room=bot.dm_room(ANNA))  # Anna is the primary now: her secondary is asked
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        await bot.say(BERTIL, "!nej L1", room=bot.dm_room(BERTIL))
        told = bot.matrix.to_user(ANNA)[-1]
        assert told.body == ("Anna A: ⚠️ Bertil B kan inte ta över L1, så det är fortfarande ditt. Lämna till någon"
                             " annan med !lämna L1 @person:server.")
        alarm = bot.app.alarms.get("L1")
        assert alarm is not None and alarm.holders == (ANNA,) and alarm.handoff_to is None
        stranger = await bot.say(ANNA, "!lämna L1 @okand:localhost", room=bot.dm_room(ANNA))
        assert "finns inte i jourschemat" in bot.answers_to(stranger)[0].body
        chef = await bot.say(CHEF, "!lämna L1", room=UNIT_ROOM)
        assert "Bertil B" in bot.answers_to(chef)[0].body  # a supervisor may hand it on for the holder
        assert bot.paged() == {"anna.a": 1, "bertil.b": 2, "chef.c": 0}
    finally:
        await bot.stop()
