"""`jourbot crosssign status` shows the bot's master key fingerprint and that its device is signed."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.synapse import PASSWORD

pytestmark = pytest.mark.integration


async def status(config) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli.main", "crosssign", "status", "-c", str(config), "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_status_after_start_shows_signed_device_and_same_keys_after_restart(synapse, tmp_path):
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [], [])
    code, _, err = await status(config)
    assert code == 1 and "has not logged in yet" in err

    bot = BotRunner(config)
    await bot.start()
    await bot.stop()
    code, out, _ = await status(config)
    first = json.loads(out)
    assert code == 0 and first["ok"] and first["device_signed"] and first["keys_match"]
    assert len(first["server_master_fingerprint"].replace(" ", "")) == 43

    await bot.start()
    await bot.stop()
    code, out, _ = await status(config)
    assert json.loads(out)["server_master_key"] == first["server_master_key"]
