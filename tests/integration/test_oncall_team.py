"""Beyond the single responder, end to end (real Synapse, real E2EE clients): a unit that goes out two by two, the
police's case number, and an accepted alarm handed over with `!lämna`. Every test asserts who was paged and that
nobody else was. (Volume and repeats: tests/integration/test_alarms.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.harness import handover
from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled
from tests.integration.test_alarms import BOT, ROSTERS, bot_says, is_page, scene

pytestmark = pytest.mark.integration
CASE = "5000-K123456-26"


def two_by_two(tmp_path: Path) -> Path:
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    unit = folder / "testjour.toml"
    text = unit.read_text()
    unit.write_text(text.replace('phone = "08-000 111 22"\n', 'phone = "08-000 111 22"\nresponders_needed = 2\n'))
    return folder


async def test_a_two_person_unit_pages_on_until_the_second_acceptance(people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=300, rosters=two_by_two(tmp_path))
    try:
        larm = await s.police.send(s.room, "!larm Farsta två barn i lägenheten")
        page = await s.anna.wait_for(is_page("L1"))
        assert "2 går ut tillsammans" in page.body
        await s.anna.send(page.room_id, "!ok")
        first = await s.police.wait_for(bot_says(s, "(1 av 2)", reply_to=larm))
        assert first.body.startswith("polis1: ✅ L1: Anna A (Testjouren) accepterat")
        second_page = await s.bertil.wait_for(is_page("L1"))  # at once: the step's wait is 300 s
        assert "två barn i lägenheten" in second_page.body
        await s.bertil.react(second_page.room_id, second_page.event_id, "✅")
        done = await s.police.wait_for(bot_says(s, "(2 av 2)", reply_to=larm))
        assert done.body.startswith("polis1: ✅ L1: Bertil B (Testjouren) accepterat")
        police_lines = [m.body for m in s.police.from_sender(BOT, s.room)]
        assert police_lines.index(first.body) < police_lines.index(done.body)
        await s.settled(late=[s.bertil])
        assert s.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        alarm = s.bot.app.alarms.get("L1")
        assert alarm is not None and alarm.status == "accepted" and alarm.holders == (s.anna.user_id, s.bertil.user_id)
    finally:
        await s.bot.stop()


async def test_lamna_moves_an_accepted_alarm_and_the_new_holders_framme_is_recorded(people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=300)
    try:
        larm = await s.police.send(s.room, "!larm Farsta två barn")
        page = await s.anna.wait_for(is_page("L1"))
        await s.anna.send(page.room_id, "!ok")
        await s.police.wait_for(bot_says(s, "L1 accepterat av Anna A", reply_to=larm))
        await s.anna.send(page.room_id, "!påväg 15")
        await s.police.wait_for(bot_says(s, "L1: Anna A är på väg"))
        asked = await s.anna.send(page.room_id, f"!lämna L1 {s.bertil.user_id}")
        await s.anna.wait_for(lambda m: m.sender == BOT and m.reply_to == asked and "bett Bertil B" in m.body)
        handoff = await s.bertil.wait_for(is_page("L1"))
        assert "Anna A ber dig ta över larm L1" in handoff.body and "två barn" in handoff.body
        await s.bertil.send(handoff.room_id, "!ok L1")
        taken = await s.police.wait_for(bot_says(s, "har tagit över efter Anna A", reply_to=larm))
        assert taken.body.startswith("polis1: 🔄 L1: Bertil B (Testjouren)")
        await s.anna.wait_for(lambda m: m.sender == BOT and "Bertil B har tagit över L1" in m.body)
        await s.bertil.send(handoff.room_id, "!framme")
        await s.police.wait_for(bot_says(s, "L1: Bertil B är framme"))
        phases = s.bot.app.store.phases.of("L1")
        assert [(p.phase, p.by) for p in phases] == [("en_route", s.anna.user_id), ("arrived", s.bertil.user_id)]
        await s.settled(late=[s.bertil])
        assert s.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
    finally:
        await s.bot.stop()


async def test_a_case_number_reaches_the_acceptor_and_the_handover_listing_and_never_the_police_room(
        people, synapse, tmp_path):
    police, anna, chef = await people("polis1"), await people("anna.a"), await people("chef.c")
    cecilia, eva = await people("cecilia.c"), await people("eva.e")
    police_room = await police.create_room([BOT])
    jour_room = await anna.create_room([BOT, chef.user_id])
    office_room = await cecilia.create_room([BOT, eva.user_id])
    clock = [handover.local("2026-11-27T23:00")]  # a Friday night: Socialjouren answers, the office opens Monday
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [police_room], [police.user_id],
                          rosters=handover.ROSTERS,
                          extra=handover.unit_rooms(jour_room, office_room) + '\n[readiness]\nreport_at = ""\n')
    bot = BotRunner(config, clock=lambda: clock[0])
    await bot.start()
    try:
        for person, room in ((police, police_room), (anna, jour_room), (cecilia, office_room)):
            await person.wait_joined(room, BOT)
        larm = await police.send(police_room, f"!larm Farsta hnr {CASE} två barn, pappan hotfull")
        page = await anna.wait_for(lambda m: m.sender == BOT and "L1" in m.body and m.msgtype == "m.text")
        assert f"Händelsenummer: {CASE}" in page.body and "två barn, pappan hotfull" in page.body
        await anna.send(page.room_id, "!ok")
        taken = await anna.wait_for(lambda m: m.sender == BOT and "Du har L1" in m.body)
        assert f"Händelsenummer: {CASE}" in taken.body
        await police.wait_for(lambda m: m.sender == BOT and m.reply_to == larm and "accepterat" in m.body)
        clock[0] = handover.local("2026-11-30T08:00")  # Monday: the office opens
        listing = await cecilia.wait_for(lambda m: m.sender == BOT and m.room_id == office_room and "L1" in m.body,
                                         timeout=30)
        assert listing.body.split("\n")[:2] == ["Cecilia C: 📋 Att ta över: L1 Farsta", f"Händelsenummer: {CASE}"]
        assert bot.app is not None
        await settled(bot.app, police, anna, chef, cecilia)
        said = [m.body for m in police.from_sender(BOT, police_room)]
        assert said and all(CASE not in line for line in said), "never in the police room"
        assert len(anna.pages(BOT)) == 1 and chef.pages(BOT) == [] and cecilia.pages(BOT) == []
    finally:
        await bot.stop()
