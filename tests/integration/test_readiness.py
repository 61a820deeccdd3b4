"""Readiness before the shift, against a real Synapse with real E2EE clients: `jourbot roster ready` names who cannot
be reached and why, while the bot runs undisturbed; an unanswered night check-in reaches the supervisor."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.channels.outbox import Origin
from bot.core.effects import SendUser
from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled, swept_past, until
from tests.integration.test_trust_policy import cross_sign

BOT = "@jourbot:localhost"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
pytestmark = pytest.mark.integration

AREAS = """
[[area]]
id = "ready"
name = "Redoby"
other_unit = "readyjour"
"""
PEOPLE = """
[people]
"@dora.d:localhost" = "Dora D"
"@erik.e:localhost" = "Erik E"
"@frida.f:localhost" = "Frida F"
"@gustav.g:localhost" = "Gustav G"
"""
UNIT = """
name = "Readyjouren"
phone = "08-000 555 66"
supervisors = ["@frida.f:localhost"]

[[rotation]]
role = "primary"
name = "Natt"
shift = "22:00-08:00"
every = "daily"
start = 2025-01-06
members = ["@dora.d:localhost"]

[[rotation]]
role = "primary"
name = "Dag"
shift = "08:00-22:00"
every = "daily"
start = 2025-01-06
members = ["@erik.e:localhost"]
"""
GUSTAV = """
[[rotation]]
role = "secondary"
shift = "08:00-08:00"
every = "daily"
start = 2025-01-06
members = ["@gustav.g:localhost"]
"""
CHECKIN = """
[[checkin]]
unit = "readyjour"
starts = ["22:00"]
answer_within_min = 30
"""


def rosters(tmp_path: Path, with_gustav: bool) -> Path:
    folder = tmp_path / "rosters"
    folder.mkdir()
    (folder / "areas.toml").write_text(AREAS)
    (folder / "people.toml").write_text(PEOPLE)
    (folder / "readyjour.toml").write_text(UNIT + (GUSTAV if with_gustav else ""))
    return folder


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).timestamp()


async def roster_ready(config: Path, *options: str) -> tuple[int, str]:
    """The CLI in its own process, as an administrator runs it beside the running bot."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli.main", "roster", "ready", "-c", str(config), *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def test_roster_ready_names_an_unverified_phone_a_left_room_and_a_missing_account(synapse, people, tmp_path):
    dora, erik, frida = await people("dora.d"), await people("erik.e"), await people("frida.f")
    await cross_sign(erik, tmp_path)
    await cross_sign(frida, tmp_path)  # Dora's only device stays unverified by her; Gustav has no account at all
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [], [], rosters=rosters(tmp_path, True))
    config.write_text(config.read_text().replace('trust = "tofu"', 'trust = "cross-signed"'))
    bot = BotRunner(config)
    app = await bot.start()
    try:
        with app.store.transaction():  # the bot's first word to each makes their direct room
            app.outbox.queue([SendUser(u.user_id, "Hej!") for u in (dora, erik, frida)], Origin("test:hello"))
        await erik.wait_for(lambda m: m.sender == BOT and m.body == "Hej!", 30)
        await frida.wait_for(lambda m: m.sender == BOT and m.body == "Hej!", 30)
        rooms = app.store.direct_rooms.all()
        await dora.wait_until(lambda: rooms.get(dora.user_id) in dora.client.rooms, 30)
        await erik.client.room_leave(rooms[erik.user_id])

        def bot_saw_erik_leave() -> bool:
            room = app.matrix.client.rooms.get(rooms[erik.user_id])
            return room is not None and erik.user_id not in room.users

        await until(bot_saw_erik_leave, 20, "the bot to see Erik leave his direct room")
        device = json.loads((config.parent / "state" / "credentials.json").read_text())["device_id"]

        code, out = await roster_ready(config, "--json")
        assert code == 1, out
        report = {p["user"]: [problem["kind"] for problem in p["problems"]] for p in json.loads(out)["people"]}
        assert report == {
            "@dora.d:localhost": ["no_verified_device"],
            "@erik.e:localhost": ["left"],
            "@frida.f:localhost": [],
            "@gustav.g:localhost": ["no_account"],
        }
        code, out = await roster_ready(config)
        assert code == 1
        assert "3 av 4 på schemat kan inte säkert nås" in out
        dora_part = out[out.index("Dora D (@dora.d:localhost)"):].split("\n\n")[0]
        assert ("Ingen inloggning som hen själv har verifierat, så sidor går inte att läsa. Be hen verifiera"
                in dora_part)

        # The running bot was not disturbed: the same device, and it still reaches people.
        assert json.loads((config.parent / "state" / "credentials.json").read_text())["device_id"] == device
        with app.store.transaction():
            app.outbox.queue([SendUser(frida.user_id, "Fortfarande här.")], Origin("test:after"))
        await frida.wait_for(lambda m: m.sender == BOT and m.body == "Fortfarande här.", 30)
    finally:
        await bot.stop()


async def start_at(config: Path, at: str) -> tuple[BotRunner, list[float]]:
    moved = [local(at)]
    bot = BotRunner(config, clock=lambda: moved[0])
    app = await bot.start()
    # the sweep (every second) plans the coming shift starts
    await until(lambda: app.store.checkins.next_at() is not None, 20, "a check-in planned")
    return bot, moved


async def test_an_unanswered_night_check_in_reaches_the_supervisor(synapse, people, tmp_path):
    dora, erik, frida = await people("dora.d"), await people("erik.e"), await people("frida.f")
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [], [], rosters=rosters(tmp_path, False),
                          extra=CHECKIN)
    bot, moved = await start_at(config, "2026-11-24T21:59:50")
    app = bot.app
    assert app is not None
    try:
        moved[0] = local("2026-11-24T22:00")
        asked = await dora.wait_for(lambda m: m.sender == BOT and "Du har jour" in m.body, 30)
        assert asked.encrypted and asked.body.endswith(
            "Du har jour 22:00–08:00 (Readyjouren, primär). Svara ✅ när du är redo.")
        assert dora.user_id in asked.content["m.mentions"]["user_ids"]  # her phone notifies
        moved[0] = local("2026-11-24T22:29:59")
        await swept_past(app, moved[0])  # the bot looked at the check-in a second before its answer was due
        moved[0] = local("2026-11-24T22:30")
        told = await frida.wait_for(lambda m: m.sender == BOT and "Dora D har inte svarat" in m.body, 30)
        assert told.encrypted and "22:00–08:00 (Readyjouren, primär)" in told.body
        # Messages to Frida keep their order: one sent at 22:29:59 would have come before this one.
        assert frida.from_sender(BOT) == [told]
        moved[0] += 1  # a second later the bot has swept again, and all it said has arrived: nothing comes twice
        await swept_past(app, moved[0])
        await settled(app, dora, erik, frida)
        assert len(frida.from_sender(BOT)) == 1
        assert erik.from_sender(BOT) == [] and len(dora.from_sender(BOT)) == 1
    finally:
        await bot.stop()


async def test_a_check_reaction_answers_the_check_in_and_the_supervisor_hears_nothing(synapse, people, tmp_path):
    dora, frida = await people("dora.d"), await people("frida.f")
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [], [], rosters=rosters(tmp_path, False),
                          extra=CHECKIN)
    bot, moved = await start_at(config, "2026-11-24T21:59:50")
    app = bot.app
    assert app is not None
    try:
        moved[0] = local("2026-11-24T22:00")
        asked = await dora.wait_for(lambda m: m.sender == BOT and "Du har jour" in m.body, 30)
        await dora.react(asked.room_id, asked.event_id, "✅")
        await dora.wait_for(lambda m: m.sender == BOT and m.body == "Tack, du är incheckad 22:00.", 30)
        moved[0] = local("2026-11-24T22:31")
        await swept_past(app, moved[0])  # past the answer's limit: the bot would have told Frida now
        await settled(app, dora, frida)
        assert frida.from_sender(BOT) == []
    finally:
        await bot.stop()
