"""The bot's nio crypto store: what a sync finds encrypted is kept across restarts (a room forgotten as encrypted
would be written to in the clear), and a sync that found nothing writes nothing."""

from __future__ import annotations

from pathlib import Path

from nio.crypto import OlmAccount

from bot.matrix.cryptostore import CryptoStore

BOT = "@jourbot:localhost"


def opened(path: Path) -> CryptoStore:
    return CryptoStore(BOT, "JOURBOTDEV", str(path), pickle_key="pickle-key-not-secret")


def test_encrypted_rooms_are_kept_and_an_empty_save_changes_nothing(tmp_path):
    store = opened(tmp_path)
    store.save_account(OlmAccount())
    store.save_encrypted_rooms({"!police:localhost", "!dm:localhost"})
    store.save_encrypted_rooms(set())  # what nio does after every sync that found no new encrypted room
    store.save_encrypted_rooms({"!alarm:localhost"})
    again = opened(tmp_path)
    assert again.load_encrypted_rooms() == {"!police:localhost", "!dm:localhost", "!alarm:localhost"}
