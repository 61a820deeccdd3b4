"""The police's case number (händelsenummer) and the officer's phone, through the whole App: given with `!larm`, it
reaches the paged and the acceptor, the district office's handover listing and the evaluators' CSV row, and never
the police room; the officer's number (police.toml) reaches whoever takes the alarm."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from bot.alarm.evaluation import CSV_COLUMNS, csv_row
from tests.harness.component import ANNA, POLICE, ComponentBot
from tests.harness.handover import FARSTA_ROOM, ROSTERS, advance_to, local, start

CASE = "5000-K123456-26"


async def test_the_case_number_reaches_the_acceptor_and_the_handover_and_never_the_police_room(tmp_path):
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    officer = '"@polis1:localhost" = {name = "Per Polis", phone = "+46701740610"}'
    (folder / "police.toml").write_text(f"[police]\n{officer}\n")
    bot = await start(tmp_path, local("2026-11-27T23:00"), rosters=folder)  # Friday night: Socialjouren answers
    try:
        larm = await bot.say(POLICE, f"!larm Farsta HNR: {CASE} två barn, pappan hotfull")
        (page,) = bot.matrix.pages_to(ANNA)
        assert "två barn, pappan hotfull" in page.body and "HNR" not in page.body.split("\n")[1]
        assert f"Händelsenummer: {CASE}" in page.body
        assert "Polis: Per Polis, tel 070-174 06 10" in page.body
        await bot.say(ANNA, "!ok", room=page.room_id)
        accepted = bot.matrix.to_user(ANNA)[-1].body
        assert accepted.startswith("✅ Du har L1 (Farsta).") and f"Händelsenummer: {CASE}" in accepted
        assert "Polis: Per Polis, tel 070-174 06 10" in accepted
        (room,) = bot.matrix.room_names
        assert "Polis: Per Polis, tel 070-174 06 10." in bot.matrix.to_room(room)[0].body
        await advance_to(bot, local("2026-11-30T08:00"))
        (listing,) = bot.matrix.to_room(FARSTA_ROOM)
        assert listing.body.split("\n")[:2] == ["Cecilia C: 📋 Att ta över: L1 Farsta", f"Händelsenummer: {CASE}"]
        for line in bot.police_lines():
            assert CASE not in line and "+46701740610" not in line
        assert bot.police_lines()[0].startswith("🚨 Larm L1 (Farsta) registrerat 23:00.")
        assert bot.answers_to(larm)[0].body == bot.police_lines()[0]
        _, (facts,) = bot.app.evaluation.facts_between(datetime.fromtimestamp(local("2026-11-27T00:00"), UTC),
                                                       datetime.fromtimestamp(local("2026-11-28T00:00"), UTC))
        assert dict(zip(CSV_COLUMNS, csv_row(facts), strict=True))["case_number"] == CASE
    finally:
        await bot.stop()


async def test_a_trailing_reference_in_the_polices_form_is_a_case_number_and_other_text_is_not(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await bot.say(POLICE, f"!larm Farsta två barn i lägenheten {CASE}")
        await bot.say(POLICE, "!larm Farsta tre barn, port 5000")
        first, second = bot.app.alarms.get("L1"), bot.app.alarms.get("L2")
        assert first is not None and first.case_number == CASE
        assert bot.app.store.alarms.details("L1") == "två barn i lägenheten"
        assert second is not None and second.case_number is None
        assert bot.app.store.alarms.details("L2") == "tre barn, port 5000"
    finally:
        await bot.stop()
