"""The last roster folder put in force, kept whole (every file's bytes), so that a bot started on a folder that
cannot be used runs on the roster that was in force instead of paging nobody."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.store.db import Database
from bot.store.readonly import read_rows

_KEY = "in_force"  # one row: only the last good roster is worth keeping


@dataclass(frozen=True)
class RosterSnapshot:
    digest: str  # sha256 over the files' names and bytes
    saved_at: float  # Unix seconds
    folder: str  # where it was read from
    files: dict[str, bytes]  # file name -> its bytes


class RosterSnapshots:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, snapshot: RosterSnapshot) -> None:
        files = json.dumps({name: base64.b64encode(data).decode("ascii") for name, data in snapshot.files.items()})
        self.db.execute(
            "INSERT INTO roster_snapshots(key, digest, saved_at, folder, files) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key)"
            " DO UPDATE SET digest = excluded.digest, saved_at = excluded.saved_at, folder = excluded.folder,"
            " files = excluded.files",
            [_KEY, snapshot.digest, snapshot.saved_at, snapshot.folder, files],
        )

    def last(self) -> RosterSnapshot | None:
        return _snapshot(self.db.execute(_LAST, [_KEY]).fetchone())


_LAST = "SELECT digest, saved_at, folder, files FROM roster_snapshots WHERE key = ?"


def _snapshot(row: tuple[str, float, str, str] | None) -> RosterSnapshot | None:
    if row is None:
        return None
    encoded: Mapping[str, str] = json.loads(row[3])
    files = {name: base64.b64decode(data) for name, data in encoded.items()}
    return RosterSnapshot(row[0], float(row[1]), row[2], files)


def read_last(path: Path, database: str = "") -> RosterSnapshot | None:
    """The snapshot in the database at `path` (or on the PostgreSQL server `database` names), read without writing
    (the start's preflight runs before the store is opened and migrated). No database, or one from before
    snapshots: None."""
    rows = read_rows(path, database, "roster_snapshots", _LAST, [_KEY])
    return _snapshot(rows[0] if rows else None)
