"""The handover to the district office end to end: police, responders, the office and the supervisors are real E2EE
clients; Synapse is real; only the bot's clock is moved (to dates before today, so no message looks stale to it).

Farsta's office (tests/harness/handover_rosters: Cecilia C primary, Eva E supervising) answers in office hours,
Socialjouren (Anna A primary, Chef C supervising) at all other times; nobody is in both.
"""

from __future__ import annotations

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.handover import ROSTERS, local, unit_rooms
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled, swept_past

BOT = "@jourbot:localhost"
pytestmark = pytest.mark.integration


def from_bot(text: str, room: str | None = None):
    return lambda m: m.sender == BOT and text in m.body and (room is None or m.room_id == room)


async def test_the_office_gets_its_handovers_at_its_next_opening_and_receives_them(people, synapse, tmp_path):
    police, anna, chef = await people("polis1"), await people("anna.a"), await people("chef.c")
    cecilia, eva = await people("cecilia.c"), await people("eva.e")
    police_room = await police.create_room([BOT])
    jour_room = await anna.create_room([BOT, chef.user_id])
    office_room = await cecilia.create_room([BOT, eva.user_id])
    clock = [local("2026-04-02T22:00")]  # skärtorsdagen: the office closed at 13:00, before Good Friday
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [police_room], [police.user_id],
                          rosters=ROSTERS,
                          # the daily readiness report to supervisors (also at 09:00) is tested on its own
                          extra=unit_rooms(jour_room, office_room) + '\n[readiness]\nreport_at = ""\n')
    bot = BotRunner(config, clock=lambda: clock[0])
    app = await bot.start()
    try:
        for person, room in ((police, police_room), (anna, jour_room), (cecilia, office_room)):
            await person.wait_joined(room, BOT)

        async def alarm(at: str, alarm_id: str) -> str:
            """Raised and accepted by Anna; her direct room with the bot."""
            clock[0] = local(at)
            larm = await police.send(police_room, "!larm Farsta två barn, pappan hotfull")
            page = await anna.wait_for(lambda m: m.sender == BOT and alarm_id in m.body and m.msgtype == "m.text")
            await anna.send(page.room_id, f"!ok {alarm_id}")
            await police.wait_for(lambda m: m.sender == BOT and m.reply_to == larm and "accepterat" in m.body)
            return page.room_id

        async def anna_says(room: str, at: str, text: str) -> None:
            clock[0] = local(at)
            said = await anna.send(room, text)
            await anna.wait_for(lambda m: m.sender == BOT and m.reply_to == said)

        await alarm("2026-04-02T23:30", "L1")
        for moment in ("2026-04-03T12:00", "2026-04-06T12:00", "2026-04-07T07:59"):  # Good Friday … Easter Monday
            clock[0] = local(moment)
            await swept_past(app, clock[0])  # the bot looked for handovers due at that moment
        clock[0] = local("2026-04-07T08:00")  # the Tuesday after Easter
        listed = await cecilia.wait_for(from_bot("Att ta över: L1 Farsta", office_room), timeout=30)
        # The office room's messages keep their order: one made at any of the moments above would have come first.
        assert cecilia.from_sender(BOT, office_room) == [listed], "nothing before the Tuesday after Easter"
        assert listed.encrypted and "Larm 2/4 23:30" in listed.body and "Anna A (Socialjouren)" in listed.body
        assert "hotfull" not in listed.body and cecilia.user_id in listed.content["m.mentions"]["user_ids"]
        asked = await cecilia.send(office_room, "!mottaget L1")
        await cecilia.wait_for(lambda m: m.sender == BOT and m.reply_to == asked
                               and m.body == "✅ L1 mottaget av Cecilia C 08:00.")

        # A Friday night in November: two alarms, the first through every phase to klar; the office receives it and
        # leaves the other.
        clock[0] = local("2026-11-20T22:00")
        await swept_past(app, clock[0])
        direct = await alarm("2026-11-20T23:10", "L2")
        for at, command in (("2026-11-20T23:15", "!påväg L2 20"), ("2026-11-20T23:38", "!framme L2"),
                            ("2026-11-21T00:40", "!skydd L2 gjord anhörig"),
                            ("2026-11-21T01:10", "!överlämnad L2 Farsta"), ("2026-11-21T01:30", "!klar L2")):
            await anna_says(direct, at, command)
        await alarm("2026-11-21T01:40", "L3")
        clock[0] = local("2026-11-23T08:00")
        listed = await cecilia.wait_for(from_bot("Att ta över: L2 Farsta", office_room), timeout=30)
        assert listed.body == (
            "Cecilia C: 📋 Att ta över: L2 Farsta\nLarm 20/11 23:10, accepterat 23:10 av Anna A"
            " (Socialjouren).\nFaser: på väg 23:15 (ca 20 min), framme 23:38, skyddsbedömning gjord 00:40: hos"
            " anhörig och överlämnad 01:10 till Farsta stadsdelsförvaltning. Avslutat 01:30.\nSvara !mottaget L2 när"
            " ni tagit över.")
        await cecilia.wait_for(from_bot("Att ta över: L3 Farsta", office_room), timeout=30)
        asked = await cecilia.send(office_room, "!mottaget L2")
        await cecilia.wait_for(lambda m: m.sender == BOT and m.reply_to == asked and "L2 mottaget" in m.body)
        clock[0] = local("2026-11-23T10:00")
        reminder = await eva.wait_for(from_bot("⏰ L3 (Farsta) listades 08:00"), timeout=30)
        assert reminder.encrypted and reminder.room_id != office_room, "in Eva's direct room"
        assert reminder.msgtype == "m.text" and eva.user_id in reminder.content["m.mentions"]["user_ids"]
        clock[0] = local("2026-11-23T12:00")
        await chef.wait_for(from_bot("har inte tagit emot L3 (Farsta)"), timeout=30)
        clock[0] += 1  # a second later the bot has swept again, and all it said has arrived: nothing comes twice
        await swept_past(app, clock[0])
        await settled(app, cecilia, eva, chef)
        assert [m.body for m in eva.from_sender(BOT) if m.room_id != office_room] == [reminder.body], (
            "Eva: one reminder, about L3 only")
        assert [m.body for m in chef.from_sender(BOT) if m.room_id != jour_room] == [
            "Chef C: ⏰ Farsta stadsdelsförvaltning har inte tagit emot L3 (Farsta), listat 08:00."
            " Ring dem: 08-508 000 10."], "Chef: one reminder, after Eva's"
        assert len(cecilia.from_sender(BOT, office_room)) == 5, "three listings and two receipts, nothing twice"
    finally:
        await bot.stop()
