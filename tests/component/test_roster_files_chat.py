"""What the roster files write (overrides, leave) is what chat shows: `!byt lista`, `!schema`, `!jour`, beside the
overrides made with `!byt`."""

from __future__ import annotations

import shutil

from tests.harness.component import CHEF, ROSTERS, ComponentBot

# Wednesday 25 November 2026, 14:02 (the harness's clock). Testjouren: Anna A primary, Bertil B secondary.
OVERRIDE = """
[[override]]
person = "@chef.c:localhost"
role = "secondary"
from = "2026-11-25 16:00"
to = "2026-11-25 20:00"
reason = "Bertil B på kurs"
"""
LEAVE = """
[[leave]]
person = "@anna.a:localhost"
from = "2026-11-25 18:00"
to = 2026-11-26
"""


async def test_chat_shows_what_the_files_write_beside_what_chat_made(tmp_path):
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    (folder / "testjour.toml").write_text((folder / "testjour.toml").read_text() + OVERRIDE)
    (folder / "people.toml").write_text((folder / "people.toml").read_text() + LEAVE)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        room = bot.matrix.add_room("!chef:localhost", CHEF)
        await bot.say(CHEF, "!byt @anna.a:localhost 2026-11-27 08:00 2026-11-27 12:00 testjour", room=room)
        listed = [s.body for s in bot.answers_to(await bot.say(CHEF, "!byt lista", room=room))]
        assert listed == [
            "testjour.toml#1: Chef C — bakjour i Testjouren 2026-11-25 16:00 – 2026-11-25 20:00\n"
            "B1: Anna A — primärjour i Testjouren 2026-11-27 08:00 – 2026-11-27 12:00"
        ]
        (schema,) = bot.answers_to(await bot.say(CHEF, "!schema testjouren", room=room))
        lines = [" ".join(line.split()) for line in schema.body.splitlines()]
        assert "ons 25/11 16:00–20:00 · Bakjour · Chef C (byte)" in lines
        # Anna A is away from 18:00 and the rotation has nobody else: the primary stops there (a gap).
        assert "ons 25/11 08:00–18:00 · Primärjour · Anna A" in lines
        # Element shows the HTML beside the body: a table whose columns line up, as spaces in the body did not.
        assert schema.content["format"] == "org.matrix.custom.html"
        assert "<tr><td>ons 25/11 16:00–20:00</td><td>Bakjour</td><td>Chef C (byte)</td></tr>" in (
            schema.content["formatted_body"])
        (jour,) = bot.answers_to(await bot.say(CHEF, "!jour Farsta 19:00", room=room))
        assert jour.body.splitlines()[1:3] == [
            "1. Primärjour: ⚠️ ingen — lucka i schemat; ett larm går direkt till bakjour",
            "2. Bakjour: Chef C",
        ]
    finally:
        await bot.stop()
