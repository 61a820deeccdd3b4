"""The bot account's own cross-signing keys (master, self-signing, user-signing), one row shared by every instance.

Each instance is a device of its own with a crypto store of its own, but all of them must be signed by one identity:
a second identity would be a reset for every person who verified the bot, and would leave the other instances'
devices unsigned. So the private keys live here, sealed, beside what the instances already share;
bot/matrix/crosssign.py decides when they are read, copied in from an older instance's key file, or made.

Sealed with the store's data key (bot/store/secretbox.py), not with the pickle key the key file uses: every instance
must already hold the same data key to read the fields the others sealed, while the pickle key protects only the
instance's own crypto store and may differ between them. `jourbot keys rotate-data` re-seals this row with the rest
(bot/store/rotation.py), and rotating one instance's pickle key leaves the others' reading of it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.store.db import Database
from bot.store.readonly import read_rows
from bot.store.secretbox import DecryptionError, SecretBox


class SealedKeysUnreadable(Exception):
    """The row is there but does not open: a data key other than the one it was sealed with, or an altered row."""


def sealing_context(user_id: str) -> str:
    # Bound into the seal, so a row copied into another account's database does not open as that account's keys.
    return f"cross-signing:{user_id}"


@dataclass(frozen=True)
class HeldKeys:
    user_id: str
    master_key: str  # public, unsealed: `jourbot crosssign status` shows it without the data key
    seeds: str  # the private keys as the caller gave them (JSON): never logged

    def __repr__(self) -> str:
        return f"HeldKeys(user_id={self.user_id!r}, master_key={self.master_key!r})"


def read_master_key(path: Path, database: str) -> tuple[str, str] | None:
    """(account, public master key) of the keys the database holds, read without migrating or writing it and without
    the data key: for `jourbot crosssign status` beside running instances."""
    rows = read_rows(path, database, "cross_signing_keys",
                     "SELECT user_id, master_key FROM cross_signing_keys WHERE id = 1")
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


class OwnIdentity:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def master_key(self) -> tuple[str, str] | None:
        """(account, public master key) of the held keys, without opening them."""
        row = self.db.execute("SELECT user_id, master_key FROM cross_signing_keys WHERE id = 1").fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def held(self) -> HeldKeys | None:
        row = self.db.execute("SELECT user_id, master_key, sealed FROM cross_signing_keys WHERE id = 1").fetchone()
        if row is None:
            return None
        user_id, master_key, sealed = str(row[0]), str(row[1]), str(row[2])
        try:
            seeds = self.box.open(sealed, sealing_context(user_id))
        except (DecryptionError, ValueError):
            raise SealedKeysUnreadable(
                "the cross-signing keys kept in the database do not open: this instance's data key is not the one"
                " they were sealed with (every instance sharing the database needs the same data key)") from None
        return HeldKeys(user_id, master_key, seeds)

    def hold(self, user_id: str, master_key: str, seeds: str, at: float) -> HeldKeys:
        """Keep these keys unless the database holds some already; what it holds afterwards. Two instances starting
        at once both end up with the first one's keys."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO cross_signing_keys(id, user_id, master_key, sealed, stored_at) VALUES (1, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING", [user_id, master_key, self.box.seal(seeds, sealing_context(user_id)), at])
        held = self.held()
        assert held is not None
        return held

    def replace(self, user_id: str, master_key: str, seeds: str, at: float) -> None:
        """A deliberate reset of the identity (`jourbot crosssign reset`): the new keys in place of the old."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO cross_signing_keys(id, user_id, master_key, sealed, stored_at) VALUES (1, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, master_key = excluded.master_key,"
                " sealed = excluded.sealed, stored_at = excluded.stored_at",
                [user_id, master_key, self.box.seal(seeds, sealing_context(user_id)), at])
