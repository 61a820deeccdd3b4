"""The handover to the district office, with a clock the test moves: an alarm Socialjouren handled while the Farsta
office was closed is listed in the office's room at its next opening, `!mottaget` settles it, and one nobody
receives reminds the office's supervisors and then Socialjouren's.

Farsta's office (Cecilia C primary, David D secondary, Eva E supervising) has nobody in common with Socialjouren
(Anna A, Bertil B, Chef C supervising), so every assertion can say who got a message and that nobody else did.
"""

from __future__ import annotations

from bot.store.phases import PhaseRecord
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, UNIT_ROOM, ComponentBot
from tests.harness.handover import CECILIA, DAVID, EVA, FARSTA_ROOM, advance_to, local, start

EVERYONE = (ANNA, BERTIL, CHEF, CECILIA, DAVID, EVA)


async def alarm_accepted_by_anna(bot: ComponentBot, at: float, number: int = 1) -> None:
    await advance_to(bot, at)
    await bot.say(POLICE, "!larm Farsta två barn, pappan hotfull")
    await advance_to(bot, at + 120)
    page = bot.matrix.pages_to(ANNA)[-1]
    await bot.say(ANNA, f"!ok L{number}", room=page.room_id)
    bot.matrix.mark = len(bot.matrix.sent)  # type: ignore[attr-defined]


def farsta_lines(bot: ComponentBot) -> list[str]:
    """The office's room, without the announcements of alarms it answered itself in its own hours."""
    return [s.body for s in bot.matrix.to_room(FARSTA_ROOM) if not s.body.startswith(("🚨", "✅ L1 (Farsta)"))]


def direct_to(bot: ComponentBot) -> dict[str, list[str]]:
    """Who got what in their direct room since the alarm was accepted (`matrix.mark`); everyone is listed, so "nobody
    else" is checked too."""
    later = {s.event_id for s in bot.matrix.sent[bot.matrix.mark:]}  # type: ignore[attr-defined]
    return {u.split(":")[0][1:]: [s.body for s in bot.matrix.to_user(u) if s.event_id in later] for u in EVERYONE}


def nothing_direct(bot: ComponentBot, *but: str) -> dict[str, list[str]]:
    got = direct_to(bot)
    return {k: v for k, v in got.items() if k not in but and v}


async def test_a_friday_night_alarm_is_listed_monday_at_eight_and_received(tmp_path):
    bot = await start(tmp_path, local("2026-11-27T23:00"))  # Friday
    try:
        await alarm_accepted_by_anna(bot, local("2026-11-27T23:10"))
        await advance_to(bot, local("2026-11-30T07:59"))  # the whole weekend: the office is closed
        assert farsta_lines(bot) == []
        await advance_to(bot, local("2026-11-30T08:00"))
        (listing,) = bot.matrix.to_room(FARSTA_ROOM)
        assert listing.body == (
            "Cecilia C: 📋 Att ta över: L1 Farsta\nLarm 27/11 23:10, accepterat 23:12 av Anna A"
            " (Socialjouren).\nFaser: inga registrerade. Inte avslutat än.\nSvara !mottaget L1 när ni tagit över.")
        assert listing.content["m.mentions"] == {"user_ids": [CECILIA]}, "the office's primary is asked, nobody else"
        assert "hotfull" not in listing.body and "barn" not in listing.body, "never the police's free text"
        status = await bot.say(CHEF, "!status", room=UNIT_ROOM)
        assert bot.answers_to(status)[0].body.endswith(
            "Överlämningar som väntar:\nL1 Farsta → Farsta stadsdelsförvaltning, listat 08:00, inte mottaget")
        received = await bot.say(DAVID, "!mottaget L1", room=FARSTA_ROOM)
        assert [s.body for s in bot.answers_to(received)] == ["✅ L1 mottaget av David D 08:00."]
        await advance_to(bot, local("2026-11-30T14:00"))
        assert nothing_direct(bot) == {}, "received: nobody is reminded"
        status = await bot.say(CHEF, "!status", room=UNIT_ROOM)
        assert "Överlämningar" not in bot.answers_to(status)[0].body
        assert farsta_lines(bot) == [listing.body, "✅ L1 mottaget av David D 08:00."]
        await advance_to(bot, local("2026-12-01T08:00"))
        assert len(farsta_lines(bot)) == 2, "listed once, not again the next morning"
    finally:
        await bot.stop()


async def test_unreceived_it_reminds_the_office_supervisors_at_ten_then_socialjourens(tmp_path):
    bot = await start(tmp_path, local("2026-11-27T23:00"))
    try:
        await alarm_accepted_by_anna(bot, local("2026-11-27T23:10"))
        assert bot.metric("jourbot_handovers_waiting") == 0, "not listed before the office opens"
        await advance_to(bot, local("2026-11-30T08:00"))
        await advance_to(bot, local("2026-11-30T09:59"))
        assert nothing_direct(bot) == {}
        # /metrics, for the alert JourbotHandoverWaiting: one waiting, listed 08:00.
        assert bot.metric("jourbot_handovers_waiting") == 1
        assert bot.metric("jourbot_handover_oldest_waiting_seconds") == 119 * 60
        await advance_to(bot, local("2026-11-30T10:00"))
        reminder = ("⏰ L1 (Farsta) listades 08:00 för Farsta stadsdelsförvaltning, men ingen har svarat !mottaget."
                    " Se till att någon tar över.")
        assert direct_to(bot)["eva.e"] == [f"Eva E: {reminder}"]
        assert len(bot.matrix.rings_for(EVA)) == 1, "a message that rings her phone, not a silent notice"
        assert nothing_direct(bot, "eva.e") == {}, "Socialjouren's supervisor not yet"
        await advance_to(bot, local("2026-11-30T11:59"))
        assert nothing_direct(bot, "eva.e") == {}
        await advance_to(bot, local("2026-11-30T12:00"))
        assert direct_to(bot)["chef.c"] == [
            "Chef C: ⏰ Farsta stadsdelsförvaltning har inte tagit emot L1 (Farsta), listat 08:00."
            " Ring dem: 08-508 000 10."]
        assert nothing_direct(bot, "eva.e", "chef.c") == {}
        await advance_to(bot, local("2026-11-30T18:00"))
        assert len(direct_to(bot)["chef.c"]) == 1 and len(direct_to(bot)["eva.e"]) == 1, "each reminded once"
        received = await bot.say(CECILIA, "!mottaget", room=FARSTA_ROOM)  # the only one waiting: no id needed
        assert [s.body for s in bot.answers_to(received)] == ["✅ L1 mottaget av Cecilia C 18:00."]
        assert bot.metric("jourbot_handovers_waiting") == 0
        assert bot.metric("jourbot_handover_oldest_waiting_seconds") == 0
        told = "✅ L1 är mottaget av Cecilia C (Farsta stadsdelsförvaltning) 18:00."
        assert direct_to(bot)["eva.e"][-1] == told and direct_to(bot)["chef.c"][-1] == told
        assert nothing_direct(bot, "eva.e", "chef.c") == {}
    finally:
        await bot.stop()


async def test_a_maundy_thursday_night_alarm_waits_for_the_tuesday_after_easter(tmp_path):
    bot = await start(tmp_path, local("2026-04-02T22:00"))  # skärtorsdagen; the office closed at 13:00
    try:
        await alarm_accepted_by_anna(bot, local("2026-04-02T23:30"))
        for day in ("2026-04-03", "2026-04-04", "2026-04-05", "2026-04-06"):  # Good Friday to Easter Monday
            await advance_to(bot, local(f"{day}T12:00"))
            assert farsta_lines(bot) == [], day
        await advance_to(bot, local("2026-04-07T08:00"))
        (listing,) = farsta_lines(bot)
        assert "L1 Farsta\nLarm 2/4 23:30, accepterat 23:32 av Anna A" in listing
        await advance_to(bot, local("2026-04-07T10:00"))
        assert [k for k, v in direct_to(bot).items() if v] == ["eva.e"]
    finally:
        await bot.stop()


async def test_a_restart_across_the_opening_lists_once_and_keeps_the_reminders(tmp_path):
    bot = await start(tmp_path, local("2026-11-27T23:00"))
    try:
        await alarm_accepted_by_anna(bot, local("2026-11-27T23:10"))
        await bot.stop()
        bot._clock[0] = local("2026-11-30T09:00")  # down from Friday night until Monday 09:00
        bot = await bot.restart()
        await bot.advance(0)
        assert len(farsta_lines(bot)) == 1, "the opening missed while down is listed at start"
        bot = await bot.restart()
        await bot.advance(0)
        assert len(farsta_lines(bot)) == 1, "and not again by a second start"
        await advance_to(bot, local("2026-11-30T10:59"))
        assert nothing_direct(bot) == {}, "two hours from the listing, not from the opening missed"
        await bot.stop()
        bot._clock[0] = local("2026-11-30T11:00")
        bot = await bot.restart()
        await bot.advance(0)
        assert [k for k, v in direct_to(bot).items() if v] == ["eva.e"]
    finally:
        await bot.stop()


async def test_what_the_office_handled_itself_or_was_cancelled_is_not_handed_over(tmp_path):
    bot = await start(tmp_path, local("2026-11-30T09:00"))  # Monday, the office is open
    try:
        await advance_to(bot, local("2026-11-30T09:10"))
        await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(CECILIA)[0]
        await bot.say(CECILIA, "!ok L1", room=page.room_id)
        await alarm_accepted_by_anna(bot, local("2026-11-30T22:00"), number=2)
        await bot.say(POLICE, "!avbryt L2 fel adress")
        await alarm_accepted_by_anna(bot, local("2026-11-30T23:00"), number=3)
        await advance_to(bot, local("2026-12-01T08:00"))
        lines = farsta_lines(bot)
        assert len(lines) == 1 and "L3 Farsta" in lines[0], lines
    finally:
        await bot.stop()


async def test_only_the_office_may_receive_and_a_wrong_id_changes_nothing(tmp_path):
    bot = await start(tmp_path, local("2026-11-27T23:00"))
    try:
        await alarm_accepted_by_anna(bot, local("2026-11-27T23:10"))
        await advance_to(bot, local("2026-11-30T08:00"))
        dm = bot.dm_room(ANNA)
        refused = await bot.say(ANNA, "!mottaget L1", room=dm)
        assert [s.body for s in bot.answers_to(refused)] == [
            "L1 lämnas över till Farsta stadsdelsförvaltning. Bara någon där kan svara !mottaget."]
        unknown = await bot.say(CECILIA, "!mottaget L7", room=FARSTA_ROOM)
        assert [s.body for s in bot.answers_to(unknown)] == ["L7 finns inte bland överlämningarna."]
        bad = await bot.say(CECILIA, "!received L", room=FARSTA_ROOM)
        assert [s.body for s in bot.answers_to(bad)] == ["”L” är inget larm-id. Skriv till exempel !mottaget L42."]
        assert bot.app.store.handovers.get("L1").received_at is None
        await bot.say(CECILIA, "!received L1", room=FARSTA_ROOM)
        again = await bot.say(DAVID, "!mottaget L1", room=FARSTA_ROOM)
        assert [s.body for s in bot.answers_to(again)] == ["L1 är redan mottaget av Cecilia C 08:00."]
    finally:
        await bot.stop()


async def test_the_listing_gives_the_phases_and_the_close_with_their_times(tmp_path):
    bot = await start(tmp_path, local("2026-11-27T23:00"))
    try:
        await alarm_accepted_by_anna(bot, local("2026-11-27T23:10"))
        with bot.app.store.transaction():  # as the phase commands record them (bot/store/phases.py)
            for record in (
                PhaseRecord("L1", "en_route", local("2026-11-27T23:15"), ANNA, eta_minutes=20),
                PhaseRecord("L1", "arrived", local("2026-11-27T23:38"), ANNA),
                PhaseRecord("L1", "assessment", local("2026-11-28T00:40"), ANNA, assessment_made=True,
                            decision="relative"),
                PhaseRecord("L1", "handed_over", local("2026-11-28T01:10"), ANNA, unit="farsta"),
            ):
                bot.app.store.phases.record(record)
        await advance_to(bot, local("2026-11-28T01:30"))
        await bot.say(ANNA, "!klar L1", room=bot.dm_room(ANNA))
        await advance_to(bot, local("2026-11-30T08:00"))
        (listing,) = farsta_lines(bot)
        assert listing == (
            "Cecilia C: 📋 Att ta över: L1 Farsta\nLarm 27/11 23:10, accepterat 23:12 av Anna A"
            " (Socialjouren).\nFaser: på väg 23:15 (ca 20 min), framme 23:38, skyddsbedömning gjord 00:40: hos"
            " anhörig och överlämnad 01:10 till Farsta stadsdelsförvaltning. Avslutat 01:30.\nSvara !mottaget L1 när"
            " ni tagit över.")
    finally:
        await bot.stop()


async def test_a_failing_handover_never_holds_back_an_escalation(tmp_path, monkeypatch):
    bot = await start(tmp_path, local("2026-11-27T23:00"))
    try:
        await alarm_accepted_by_anna(bot, local("2026-11-27T23:10"))

        def broken(now: float) -> list:
            raise RuntimeError("a bug in the handover")

        monkeypatch.setattr(bot.app.handovers, "fire", broken)
        await advance_to(bot, local("2026-11-30T07:59"))
        await bot.say(POLICE, "!larm Farsta")  # L2: Socialjouren still answers; Anna does not
        await advance_to(bot, local("2026-11-30T08:01"))  # the opening is due, and L2's first wait is over
        assert len(bot.matrix.pages_to(BERTIL)) == 2, "L2 escalated to Bertil although the handover failed"
        assert farsta_lines(bot) == []
        monkeypatch.undo()
        await bot.advance(1)
        assert [line.split("\n")[0] for line in farsta_lines(bot)] == [
            "Cecilia C: 📋 Att ta över: L1 Farsta"], "listed at the next sweep once it works again"
    finally:
        await bot.stop()


async def test_an_alarm_nobody_took_at_night_is_handed_over_too(tmp_path):
    bot = await start(tmp_path, local("2026-11-27T23:00"))  # Friday
    try:
        await advance_to(bot, local("2026-11-27T23:10"))
        await bot.say(POLICE, "!larm Farsta två barn, pappan hotfull")
        for minutes in range(5, 125, 5):  # every step's wait runs out, one after the other: the fallback goes out
            await advance_to(bot, local("2026-11-27T23:10") + minutes * 60)
        assert bot.app.alarms.get("L1").status == "exhausted"  # type: ignore[union-attr]
        bot.matrix.mark = len(bot.matrix.sent)  # type: ignore[attr-defined]
        await advance_to(bot, local("2026-11-30T08:00"))
        (listing,) = farsta_lines(bot)
        assert listing.startswith("Cecilia C: 📋 Att ta över: L1 Farsta\nLarm 27/11 23:10 — ingen på"
                                  " Socialjouren tog larmet; reservlarmet gick "), listing
        assert "hotfull" not in listing
        assert nothing_direct(bot) == {}, "the listing goes to the office's room, nobody is messaged directly"
        received = await bot.say(CECILIA, "!mottaget L1", room=FARSTA_ROOM)
        assert [s.body for s in bot.answers_to(received)] == ["✅ L1 mottaget av Cecilia C 08:00."]
    finally:
        await bot.stop()


async def test_a_district_office_added_by_a_roster_reload_gets_its_handovers(tmp_path):
    import shutil

    from tests.harness.botrunner import write_config
    from tests.harness.component import POLICE_ROOM
    from tests.harness.fakematrix import FakeMatrix
    from tests.harness.handover import ROSTERS, unit_rooms

    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    office = folder / "farsta.toml"  # a chain without the "whole unit" step, which would page nobody new
    office.write_text(office.read_text() + "".join(
        f'\n[[escalation]]\nrole = "{role}"\nwait_s = 120\n' for role in ("primary", "secondary", "supervisor")))
    areas = folder / "areas.toml"
    with_office = areas.read_text()
    areas.write_text(with_office.replace('office_unit = "farsta"\n', ""))  # Socialjouren answers Farsta round the clock
    write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", [POLICE_ROOM], [POLICE], rosters=folder,
                 extra=unit_rooms(UNIT_ROOM, FARSTA_ROOM))
    matrix = FakeMatrix()
    matrix.add_room(FARSTA_ROOM, CECILIA, DAVID, EVA)
    bot = await ComponentBot.start(tmp_path, matrix=matrix, clock=[local("2026-11-27T20:00")])  # Friday
    try:
        areas.write_text(with_office)  # the office takes its area back during its hours, from now on
        reloaded = await bot.app.reload_rosters("file")
        assert reloaded is not None and reloaded.accepted, reloaded and reloaded.problems
        await alarm_accepted_by_anna(bot, local("2026-11-27T23:10"))
        await advance_to(bot, local("2026-11-30T08:00"))
        (listing,) = farsta_lines(bot)
        assert listing.startswith("Cecilia C: 📋 Att ta över: L1 Farsta\nLarm 27/11 23:10"), listing
    finally:
        await bot.stop()
