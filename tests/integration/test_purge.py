"""Purged means gone, with a real Synapse and real E2EE clients: an alarm with free text, a decline's reason and a
protection decision, purged once it is past retention, leaves none of them — in the clear or sealed — in the
database file, its WAL or the crypto store, and the police room's room key is gone from the crypto store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD
from tests.integration.test_alarms import BOT, ROSTERS, bot_says, is_page

pytestmark = pytest.mark.integration

DAY = 86400.0
MARKER = "KNIVMARKÖR-5e1b"
REASON = "SJUKMARKÖR-c07d"
DECISION = "emergency_placement"  # what `!skydd gjord jourhem` records


def state_bytes(state: Path) -> dict[str, bytes]:
    """Every file of the database and of the crypto store, by name."""
    files = [state / "jourbot.db", state / "jourbot.db-wal", *sorted((state / "crypto").iterdir())]
    return {str(f.relative_to(state)): f.read_bytes() for f in files if f.is_file()}


def found_in(files: dict[str, bytes], needle: str) -> list[str]:
    return [name for name, data in files.items() if needle.encode() in data]


def as_a_record(files: dict[str, bytes], word: str) -> list[str]:
    """Where `word` is other than a key of the monthly figures kept for the evaluation (`"emergency_placement": 1`,
    a count of the month's alarms with that decision, which is what the figures keep beyond the purge)."""
    raw = word.encode()
    found = []
    for name, data in files.items():
        at = data.find(raw)
        while at >= 0:
            if not (data[at - 1:at] == b'"' and data[at + len(raw):at + len(raw) + 2] == b'":'):
                found.append(name)
                break
            at = data.find(raw, at + 1)
    return found


async def test_a_purged_alarm_and_its_room_keys_are_gone_from_the_database_its_wal_and_the_crypto_store(
        people, synapse, tmp_path):
    police = await people("polis1")
    anna, bertil = await people("anna.a"), await people("bertil.b")
    police_room = await police.create_room([BOT])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [police_room], [police.user_id],
                          rosters=ROSTERS, extra="\n[alarms]\nstep_wait_override_s = 60\n")
    offset = [0.0]
    bot = BotRunner(config, clock=lambda: time.time() + offset[0])
    app = await bot.start()
    state = app.config.state_dir
    try:
        await police.wait_joined(police_room, BOT)
        larm = await police.send(police_room, f"!larm Farsta två barn {MARKER}")
        await police.wait_for(bot_says(None, "L1 (Farsta) registrerat", reply_to=larm))
        page = await anna.wait_for(is_page("L1"))
        assert MARKER in page.body
        await anna.send(page.room_id, f"!nej L1 {REASON}")
        page = await bertil.wait_for(is_page("L1"))
        await bertil.send(page.room_id, "!ok")
        await police.wait_for(bot_says(None, "L1 accepterat av Bertil B", reply_to=larm))
        await bertil.send(page.room_id, "!påväg L1 15")
        await police.wait_for(bot_says(None, "🚗 L1: Bertil B är på väg"))
        await bertil.send(page.room_id, "!framme L1")
        await police.wait_for(bot_says(None, "📍 L1: Bertil B är framme"))
        await bertil.send(page.room_id, "!skydd L1 gjord jourhem")
        await police.wait_for(bot_says(None, "🧒 L1: skyddsbedömning gjord"))
        await bertil.send(page.room_id, "!överlämnad L1 Farsta")
        await police.wait_for(bot_says(None, "📋 L1: lämnas över till"))
        await bertil.send(page.room_id, f"!klar L1 {MARKER} igen")
        await police.wait_for(bot_says(None, "☑️ L1 avslutat av Bertil B", reply_to=larm))
        await police.wait_until(lambda: app.store.outbox.counts().get("pending", 0) == 0)

        sealed = [row[0] for row in app.store.db.execute(
            "SELECT details FROM alarms UNION ALL SELECT state FROM alarms UNION ALL SELECT payload FROM events"
            " UNION ALL SELECT content FROM outbox").fetchall()]
        ages = json.loads((state / "crypto" / "room-key-ages.json").read_text())
        police_keys = [session for session, age in ages.items() if age["room"] == police_room]
        assert police_keys, "the police room's room key is known, with its age"
        before = state_bytes(state)
        assert as_a_record(before, DECISION), "the decision is in the database before the purge"
        assert all(found_in(before, session) for session in police_keys), "and the room key in the crypto store"

        offset[0] = 400 * DAY  # a year and more later
        app._purge()
        assert app.store.alarms.state("L1") is None
    finally:
        await bot.stop()

    after = state_bytes(state)
    for gone in (MARKER, REASON, *sealed, *police_keys):
        assert found_in(after, gone) == [], gone
    assert as_a_record(after, DECISION) == [], "only the month's count of decisions is kept"
