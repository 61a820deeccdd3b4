"""The audit trail's anchors through the whole App: the head posted to the supervisors at most hourly when it
changed, and a trail cut while the bot was stopped found, recorded and told at start."""

from __future__ import annotations

import sqlite3

from bot.cli.main import main
from tests.harness.component import ANNA, CHEF, POLICE, ComponentBot


async def test_the_head_goes_to_each_supervisor_when_it_changed_at_most_hourly(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        with bot.app.store.transaction():
            bot.app.store.audit.append(CHEF, "override.removed", "B1")
        bot.app.trail.post_head()
        assert not [s for s in bot.matrix.to_user(CHEF) if "🔏" in s.body], "not within the first hour"
        await bot.advance(3601)
        bot.app.trail.post_head()
        await bot.settle()
        head = bot.app.store.audit.head()
        (posted,) = [s.body for s in bot.matrix.to_user(CHEF) if "🔏" in s.body]
        assert f"jourbot audit verify --head {head}" in posted
        assert not [s for s in bot.matrix.to_user(ANNA) if "🔏" in s.body], "supervisors only"
        await bot.advance(3601)
        bot.app.trail.post_head()
        await bot.settle()
        assert len([s for s in bot.matrix.to_user(CHEF) if "🔏" in s.body]) == 1, "unchanged: not again"
    finally:
        await bot.stop()


async def test_entries_deleted_while_the_bot_was_stopped_fail_verify_and_are_told_at_start(tmp_path, capsys):
    bot = await ComponentBot.start(tmp_path)
    await bot.say(POLICE, "!larm Farsta")
    await bot.stop()
    config = str(bot.config_path)
    db = bot.app.config.state_dir / "jourbot.db"
    conn = sqlite3.connect(db)
    last = conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
    conn.execute("DELETE FROM audit WHERE seq > ?", [last - 3])
    conn.commit()
    conn.close()
    assert main(["audit", "verify", "-c", config]) == 1
    assert f"the trail ends at entry {last - 3}" in capsys.readouterr().err

    bot = await bot.restart()
    try:
        await bot.settle()
        told = [s.body for s in bot.matrix.to_user(CHEF) if "Revisionsloggen" in s.body]
        assert len(told) == 1 and f"slutar vid post {last - 3}" in told[0] and f"är post {last}" in told[0]
        (gap,) = [e for e in bot.app.store.audit.entries() if e["action"] == "audit.gap"]
        assert f"entry {last}" in gap["data"]
    finally:
        await bot.stop()
    assert main(["audit", "verify", "-c", config]) == 0, "found, recorded and told: the trail goes on from there"
    assert "found the trail cut and recorded it" in capsys.readouterr().out
