"""Leave made in the browser, and the rosters reloaded from it, through the whole App over real HTTP.

The clock is the component tier's: Wednesday 2026-11-25 14:02 in Stockholm. In the roster used here Testjouren's
primary rotation is Anna A (today, from 08:00) then Bertil B (tomorrow); Bertil B is also the secondary, Chef C
supervises.
"""

from __future__ import annotations

import html
import re
import shutil

from rosters import Leave
from tests.component.test_web import WEB, ask_link
from tests.harness.component import ANNA, CHEF, POLICE, ROSTERS, ComponentBot
from tests.harness.webclient import WebClient, csrf_in

TWO_IN_TURN = 'members = ["@anna.a:localhost"]\n'


def rosters_with_two_in_turn(tmp_path):
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    unit = folder / "testjour.toml"
    text = unit.read_text()
    assert text.count(TWO_IN_TURN) == 1
    unit.write_text(text.replace(TWO_IN_TURN, 'members = ["@anna.a:localhost", "@bertil.b:localhost"]\n'))
    return folder


async def start(tmp_path, rosters=None) -> tuple[ComponentBot, WebClient, str]:
    bot = await ComponentBot.start(tmp_path, extra=WEB, rosters=rosters)
    assert bot.app.web is not None and bot.app.web.bound_port
    web = WebClient(bot.app.web.bound_port)
    _, _, page = await web.log_in(await ask_link(bot, CHEF))
    return bot, web, csrf_in(page)


def told_chef(bot: ComponentBot, words: str) -> list[str]:
    return [s.body for s in bot.matrix.to_user(CHEF) if words in s.body]


async def test_leave_from_the_browser_is_refused_when_wrong_and_audited_and_told_when_right(tmp_path):
    bot, web, csrf = await start(tmp_path)
    try:
        leave = {"user": ANNA, "start": "2026-11-26", "end": "2026-11-27", "reason": "semester"}
        status, _, refused = await web.post("/leave", leave)
        assert status == 403 and "inte från webbvyn" in refused, "a POST without its CSRF token"
        status, _, _ = await web.post("/leave", {**leave, "csrf": "0" * 64})
        assert status == 403

        wrong = {
            "end": "2026-11-25",  # ends (with the 25th) before it starts
            "start": "2026-13-01",
            "user": "@okand:localhost",
        }
        for key, value in wrong.items():
            status, _, page = await web.post("/leave", {**leave, "csrf": csrf, key: value})
            assert status == 400, key
            assert re.search(r'id="error">[^<]+<', page), key
        _, _, span = await web.post("/leave", {**leave, "csrf": csrf, "end": "2027-03-01"})
        assert "en ledighet får vara högst 92 dygn" in span
        _, _, unknown = await web.post("/leave", {**leave, "csrf": csrf, "user": "@okand:localhost"})
        assert "@okand:localhost finns inte i jourschemat" in unknown, "the same words as !byt"
        _, _, bad_time = await web.post("/leave", {**leave, "csrf": csrf, "start": "2026-13-01"})
        assert "Jag kan inte läsa tiden 2026-13-01" in bad_time
        _, _, long_reason = await web.post("/leave", {**leave, "csrf": csrf, "reason": "x" * 201})
        assert "högst 200 tecken" in long_reason and 'value="xxx' in long_reason, "what was typed stays in the form"
        past = {**leave, "csrf": csrf, "start": "2026-11-20", "end": "2026-11-24"}
        assert (await web.post("/leave", past))[0] == 400
        assert bot.app.store.leave.active() == [] and told_chef(bot, "ledighet") == []
        assert not [e for e in bot.app.store.audit.entries(50) if e["action"].startswith("leave.")]

        status, path, page = await web.post("/leave", {**leave, "csrf": csrf})
        assert (status, path) == (200, "/leave")
        (stored,) = bot.app.store.leave.active()
        assert (stored.user, stored.start.isoformat(), stored.end.isoformat(), stored.reason) == (
            ANNA, "2026-11-26T00:00:00+01:00", "2026-11-28T00:00:00+01:00", "semester")
        assert "F1: Anna A ledig 2026-11-26 00:00 – 2026-11-28 00:00" in page and "(semester)" in page
        assert told_chef(bot, "ledighet") == [  # Anna A is the only one in turn: her leave leaves nobody primary
            "Chef C (webben) lade in ledighet F1: Anna A ledig 2026-11-26 00:00 – 2026-11-28 00:00\n⚠️ Det ger en"
            " lucka: Farsta har ingen primärjour 2026-11-26 00:00–2026-11-28 00:00. Lägg in ett byte."]
        assert "semester" not in told_chef(bot, "ledighet")[0], "the reason stays on the page"
        added = bot.app.store.audit.entries(5)[0]
        assert (added["action"], added["actor"], added["subject"]) == ("leave.added", CHEF, "F1")

        status, _, missing = await web.post("/leave/F9/remove", {"csrf": csrf})
        assert status == 404 and "Det finns ingen ledighet F9." in missing
        assert len(bot.app.store.leave.active()) == 1
        assert (await web.post("/leave/F1/remove", {}))[0] == 403, "removing needs the CSRF token too"
        status, path, page = await web.post("/leave/F1/remove", {"csrf": csrf})
        assert (status, path) == (200, "/leave") and bot.app.store.leave.active() == []
        assert "Ingen ledighet inlagd." in page
        assert told_chef(bot, "tog bort ledighet") == ["Chef C (webben) tog bort ledighet F1."]
        assert bot.app.store.audit.entries(5)[0]["action"] == "leave.removed"
    finally:
        await web.close()
        await bot.stop()


async def test_a_responder_cannot_make_leave(tmp_path):
    bot = await ComponentBot.start(tmp_path, extra=WEB)
    assert bot.app.web is not None and bot.app.web.bound_port
    web = WebClient(bot.app.web.bound_port)
    try:
        _, _, page = await web.log_in(await ask_link(bot, ANNA))
        status, _, _ = await web.post("/leave", {"csrf": csrf_in(page), "user": ANNA, "start": "2026-11-26",
                                                 "end": "2026-11-27"})
        assert status == 403 and bot.app.store.leave.active() == []
        assert (await web.get("/leave"))[0] == 403
    finally:
        await web.close()
        await bot.stop()


async def test_someone_on_leave_made_in_the_browser_is_not_paged_the_next_in_turn_is(tmp_path):
    bot, web, csrf = await start(tmp_path, rosters_with_two_in_turn(tmp_path))
    try:
        status, _, _ = await web.post("/leave", {"csrf": csrf, "user": ANNA, "start": "2026-11-25 12:00",
                                                 "end": "2026-11-25"})
        assert status == 200
        assert "lucka" not in told_chef(bot, "ledighet")[0], "Bertil B takes the turn: no gap to warn of"
        larm = await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
        assert "Söker: Bertil B (Testjouren)" in bot.answers_to(larm)[0].body

        room = bot.matrix.add_room("!chef-leave:localhost", CHEF)
        (schema,) = bot.answers_to(await bot.say(CHEF, "!schema testjouren", room=room))
        lines = [" ".join(line.split()) for line in schema.body.splitlines()]
        assert not any(line.startswith("ons 25/11 08:00–12:00") for line in lines), "over at 14:02: not shown"
        assert "ons 25/11 12:00 – tors 26/11 00:00 · Primärjour · Bertil B (för Anna A, ledig)" in lines
        (jour,) = bot.answers_to(await bot.say(CHEF, "!jour Farsta", room=room))
        assert "1. Primärjour: Bertil B" in jour.body and "Anna A" not in jour.body

        _, _, week = await web.get("/units/testjour/week")
        assert 'class="bar rotation leave"' in week
        assert "Primärjour: Bertil B (för Anna A, ledig) ons 25/11 12:00 – tors 26/11 00:00" in week
        _, _, feeds = await web.post("/feeds", {"csrf": csrf, "whose": "unit:testjour"})
        feed = re.search(r'id="feed-url">[^<]*?(/feed/[^<]+)<', feeds).group(1)  # type: ignore[union-attr]
        _, _, ics = await web.get(feed)
        unfolded = ics.replace("\r\n ", "")
        assert "SUMMARY:Testjouren – primärjour (för Anna A\\, ledig): Bertil B\r\n" \
               "DTSTART;TZID=Europe/Stockholm:20261125T120000" in unfolded

        # The leave survives a restart (it lives in the store), and is gone once removed.
        await web.close()
        bot = await bot.restart()
        await bot.say(POLICE, "!larm Farsta hem 2")
        assert bot.paged() == {"anna.a": 0, "bertil.b": 2, "chef.c": 0}
        bot.app.leave.remove("F1", CHEF, bot.app.store.leave.active()[0].start)
        await bot.say(POLICE, "!larm Farsta hem 3")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 2, "chef.c": 0}
    finally:
        await web.close()
        await bot.stop()


async def test_the_rosters_are_reloaded_from_the_browser_and_the_page_says_what_chat_says(tmp_path):
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    bot, web, csrf = await start(tmp_path, folder)
    try:
        status, _, page = await web.post("/rosters/reload", {})
        assert status == 403 and told_chef(bot, "schema") == []
        status, _, page = await web.post("/rosters/reload", {"csrf": csrf})
        assert status == 200 and "Filerna är desamma som i schemat som gäller." in page

        unit = folder / "testjour.toml"
        good = unit.read_text()
        unit.write_text(good.replace('phone = "08-000 111 22"', 'phone = "08-000 111 99"'))
        status, _, page = await web.post("/rosters/reload", {"csrf": csrf})
        await bot.settle()
        assert status == 200 and "Nytt schema gäller nu." in page
        assert told_chef(bot, "Nytt schema") == ["📋 Nytt schema gäller från 14:02 (ändrat: testjour.toml)."]

        unit.write_text(good + "\n[[rotation\n")
        status, _, page = await web.post("/rosters/reload", {"csrf": csrf})
        await bot.settle()
        (refused,) = told_chef(bot, "godtogs inte")
        problems = [line.removeprefix("• ") for line in refused.splitlines()[1:]]
        assert status == 409 and problems
        shown = html.unescape(page)
        assert f"Schemat godtogs inte ({len(problems)} fel) – det gamla gäller fortfarande." in shown
        assert all(f"<li>{p}</li>" in shown for p in problems), "the page lists the problems chat lists"
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        assert bot.app.roster.units["testjour"].phone == "08-000 111 99", "the roster put in force stays"
    finally:
        await web.close()
        await bot.stop()


async def test_the_night_check_in_asks_who_covers_for_someone_on_leave_made_in_the_browser(tmp_path):
    """Nights: Anna A, then Bertil B in turn; Anna A is put on leave for tonight after the check-in was planned."""
    from datetime import datetime

    from tests.component.test_checkins import CHECKIN, NIGHTS, STOCKHOLM, bodies, local
    from tests.harness.botrunner import write_config
    from tests.harness.component import BERTIL, POLICE_ROOM, UNIT_ROOM

    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    unit = folder / "testjour.toml"
    nights = NIGHTS.replace('members = ["@anna.a:localhost"]', 'members = ["@anna.a:localhost", "@bertil.b:localhost"]')
    assert nights != NIGHTS
    unit.write_text(unit.read_text().split("[[rotation]]")[0] + nights)
    write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", [POLICE_ROOM], [POLICE], rosters=folder,
                 extra=f'\n[units.testjour]\nroom = "{UNIT_ROOM}"\n{CHECKIN}')
    bot = await ComponentBot.start(tmp_path, clock=[local("2026-11-25T14:02")])
    try:
        await bot.advance(0)  # the check-in for 22:00 is planned
        with bot.app.store.transaction():
            bot.app.leave.add(Leave(ANNA, datetime(2026, 11, 25, 20, tzinfo=STOCKHOLM),
                                    datetime(2026, 11, 26, 9, tzinfo=STOCKHOLM)), CHEF,
                              datetime.fromtimestamp(bot.now, STOCKHOLM))
        await bot.advance(local("2026-11-25T22:00") - bot.now)
        assert bodies(bot, BERTIL) == ["Du har jour 22:00–08:00 (Testjouren, primärjour). Svara ✅ när du är redo."]
        assert bodies(bot, ANNA) == [] and bodies(bot, CHEF) == []
    finally:
        await bot.stop()


async def test_leave_written_in_the_files_is_listed_by_name_and_dates_with_their_year(tmp_path):
    # A supervisor's first hour: "people.toml: leave #1" and dates without a year, for leave months away.
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    (folder / "people.toml").write_text((folder / "people.toml").read_text() + (
        '\n[[leave]]\nperson = "@anna.a:localhost"\nfrom = 2027-01-04\nto = 2027-01-09\n'))
    bot, web, _ = await start(tmp_path, rosters=folder)
    try:
        _, _, page = await web.get("/leave")
        assert page.count('placeholder="ÅÅÅÅ-MM-DD"') == 2 and 'type="date"' not in page, "dates as Swedes write them"
        written = page[page.index('<ul class="written">'):]
        written = written[:written.index("</ul>")]
        assert "<li>Anna A: 2027-01-04 00:00 – 2027-01-10 00:00</li>" in written  # to the end of the 9th
        assert "leave #" not in page
    finally:
        await web.close()
        await bot.stop()
