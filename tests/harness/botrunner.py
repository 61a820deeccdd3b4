"""Runs the real bot (bot.app.App) in the test's event loop against the test Synapse; restartable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bot import config as config_module
from bot.app import App
from tests.harness.postgres import database_for_a_test_bot

REPO = Path(__file__).resolve().parents[2]
# Keys that pass the bot's rule (bot/config/keys.py): random strings of 256 bits, for the tests only.
TEST_PICKLE_KEY = "Xq7vN2mK9pL4wR8tZ3cF6hJ1bD5gS0aEyU-iOkMnQ_s"
TEST_DATA_KEY = "tW4nB8xK2qZ7mR5vL9pC3hF6jD1sG0aYeU-oIkNwE_r"


BOT_USER = "@jourbot:localhost"
_IDENTITY: list[bytes] = []  # the key file of the one identity every test bot of this process shares


def seed_identity(state_dir: Path) -> None:
    """Give a test bot the cross-signing identity of @jourbot:localhost, as a key file of an install from before.

    Every test bot logs in to the session's Synapse as that one account, each with a state folder and a database of
    its own: like instances of one deployment, they must share one identity, or the second would be refused (the
    homeserver's identity is not one its database or key file holds). The file is copied into the database at start.
    """
    if not _IDENTITY:
        from bot.matrix.crosssign import CrossSigningKeys, save_keys

        made = state_dir.parent / "identity.keys"
        save_keys(CrossSigningKeys.generate(), made, TEST_PICKLE_KEY, BOT_USER)
        _IDENTITY.append(made.read_bytes())
        made.unlink()
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = state_dir / "cross-signing.keys"
    if not key_file.exists():
        key_file.write_bytes(_IDENTITY[0])
        key_file.chmod(0o600)


# A test bot meets nobody ahead of time unless its test says so (tests/component/test_first_contact.py and
# tests/integration/test_first_contact_element.py do): a welcome in every test person's direct room would stand in
# every count of what reached them, and the rooms made ahead would slow every test down.
FIRST_CONTACT_OFF = "first_contact = false"


def write_config(
    directory: Path,
    homeserver: str,
    password: str,
    police_rooms: list[str],
    police: list[str],
    extra: str = "",
    rosters: Path | None = None,
    bot_section: str = "",
    trust: str = "tofu",
    database: str | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, key in (("pickle.key", TEST_PICKLE_KEY), ("data.key", TEST_DATA_KEY)):
        (directory / name).write_text(key)
        (directory / name).chmod(0o600)
    seed_identity(directory / "state")
    path = directory / "config.toml"
    police_rooms_toml = ", ".join(f'"{r}"' for r in police_rooms)
    police_toml = ", ".join(f'"{p}"' for p in police)
    path.write_text(
        f"""rosters = "{rosters or REPO / 'rosters' / 'examples'}"

[matrix]
homeserver = "{homeserver}"
user_id = "{BOT_USER}"
password = "{password}"
sync_timeout_s = 1
trust = "{trust}"

[storage]
dir = "state"
pickle_key_file = "pickle.key"
data_key_file = "data.key"
database = "{database_for_a_test_bot() if database is None else database}"

[bot]
language = "sv"
allowed_inviters = [":localhost"]
undecryptable_wait_s = 3
{"" if "first_contact" in bot_section else FIRST_CONTACT_OFF}
{bot_section}

[roles]
police = [{police_toml}]
police_rooms = [{police_rooms_toml}]
{extra}
"""
    )
    return path


class BotRunner:
    def __init__(self, config_path: Path, clock: Callable[[], float] = time.time) -> None:
        self.config_path = config_path
        self.clock = clock
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> App:
        config = config_module.load(self.config_path)
        self.app = App(config, clock=self.clock)
        self._task = asyncio.create_task(self.app.run())
        ready = asyncio.create_task(self.app.matrix.ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._task.result()  # raises what made the bot stop
        if ready not in done:
            raise AssertionError("bot did not finish its first sync within 60 s")
        return self.app

    async def stop(self) -> None:
        if self.app and self._task:
            self.app.stop.set()
            await asyncio.wait_for(self._task, 30)
        self.app = None
        self._task = None

    async def restart(self) -> App:
        await self.stop()
        return await self.start()
