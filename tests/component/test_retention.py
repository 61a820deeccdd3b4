"""The daily purge through the whole App: the store's rows and the crypto store's room keys of the same period."""

from __future__ import annotations

from bot.store.retention import DAY
from tests.harness.component import T0, ComponentBot


async def test_the_purge_drops_the_room_keys_past_retention_and_the_trail_says_so(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        bot.matrix.room_keys.update({"police-old": T0 - 400 * DAY, "police-new": T0 - 5 * DAY})
        bot.app._purge()
        assert bot.matrix.room_key_drops[-1] == (T0 - 365 * DAY, T0), "by the bot's clock"
        assert list(bot.matrix.room_keys) == ["police-new"]
        actions = [e["action"] for e in bot.app.store.audit.entries(2)]
        assert actions == ["retention.room_keys_dropped", "retention.purged"]
    finally:
        await bot.stop()
