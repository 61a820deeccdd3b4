"""nio's crypto store (its DefaultStore, the same file), without the write nio makes after every sync.

nio saves the rooms a sync found encrypted after every sync, also when it found none: a query for the account and a
transaction for nothing, about a millisecond and a half on the event loop, on the sync that carries a `!larm` as on
every other. The rooms a sync does find encrypted are saved as before.
"""

from __future__ import annotations

from collections.abc import Collection

from nio.store import DefaultStore


class CryptoStore(DefaultStore):  # type: ignore[misc]  # nio's store classes are untyped
    def save_encrypted_rooms(self, rooms: Collection[str]) -> None:
        if rooms:
            super().save_encrypted_rooms(rooms)
