"""The roster in force, and putting a changed folder in force without a restart.

A folder is read whole (every .toml and .ics file's bytes) and loaded from that copy, so what is checked, what is put
in force and what is kept in the store as the last good roster are the same files, even if someone saves again
meanwhile. A folder is refused when it cannot be loaded, or when `roster check` finds in it, over the next 30 days,
a gap, a step paging nobody new, an overlap or a short rest that the roster in force does not have over the same
time (a correction is never held back by a gap it did not make or only shortened, and a change that makes one never
reaches an alarm), or when it gives a rotation turn already begun to someone else (rosters/rewrites.py).

Pure of Matrix and of the App: the App calls `start` once; bot/duty/reload.py calls `judge` (in a thread) and
puts what passes in force.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.store.roster_snapshots import RosterSnapshot
from rosters import Leave, Override, Roster, RosterError, load_dir
from rosters.findings import CHECK_DAYS, Finding, check_roster
from rosters.rewrites import rewritten_turns

POLL_S = 5.0  # how often the folder's files are looked at for a change
ROSTER_SUFFIXES = (".toml", ".ics")
Signature = tuple[tuple[str, int, int], ...]  # (name, mtime_ns, size) of each roster file


def signature(folder: Path) -> Signature:
    """What changes when a roster file is saved, added or removed; cheap enough to ask every few seconds."""
    found = []
    try:
        for path in folder.iterdir():
            if path.suffix in ROSTER_SUFFIXES and path.is_file():
                stat = path.stat()
                found.append((path.name, stat.st_mtime_ns, stat.st_size))
    except OSError:
        return ()
    return tuple(sorted(found))


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every roster file in `folder` (not its subfolders), name -> bytes. A missing folder reads as empty."""
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix in ROSTER_SUFFIXES and p.is_file())
    except OSError:
        return {}
    files = {}
    for path in paths:
        try:
            files[path.name] = path.read_bytes()
        except OSError:  # removed between listing and reading: as if it had not been there
            continue
    return files


def digest(files: dict[str, bytes]) -> str:
    hashed = hashlib.sha256()
    for name in sorted(files):
        hashed.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return hashed.hexdigest()


def load_files(files: dict[str, bytes], folder: Path) -> Roster:
    """The roster these files make, as if they were `folder` (so problems name the files as the folder has them)."""
    if not files:
        raise RosterError([f"{folder}: no roster files (.toml) in this folder, or it cannot be read"])
    with tempfile.TemporaryDirectory(prefix="jourbot-roster-") as copy:  # private: 0700
        for name, data in files.items():
            (Path(copy) / name).write_bytes(data)
        return load_dir(copy)


@dataclass(frozen=True)
class Candidate:
    """A folder as read and judged. `problems` empty: it may be put in force."""

    files: dict[str, bytes]
    digest: str
    roster: Roster | None
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.roster is not None and not self.problems


def judge(files: dict[str, bytes], folder: Path, in_force: RosterSnapshot, now: datetime,
          overrides: Sequence[Override], leave: Sequence[Leave] = ()) -> Candidate:
    """Load `files` and compare what `roster check` finds in them with what it finds in the roster in force.

    Runs in a worker thread: the roster in force is loaded afresh from its snapshot here, so this thread shares no
    caches with the lookups alarms make meanwhile."""
    found_digest = digest(files)
    try:
        roster = load_files(files, folder)
    except RosterError as err:
        return Candidate(files, found_digest, None, err.problems)
    current = load_files(in_force.files, folder)
    end = now + timedelta(days=CHECK_DAYS)
    # Judged as they would be used: with the leave made in the browser (bot/duty/leave.py) on both sides.
    before = check_roster(current.with_leave(leave), now, end, overrides)
    new = [f.line for f in check_roster(roster.with_leave(leave), now, end, overrides) if not covered(f, before)]
    return Candidate(files, found_digest, roster, rewritten_turns(current, roster, now) + new)


def covered(finding: Finding, before: Sequence[Finding]) -> bool:
    """The roster in force already has this finding (same kind, same subject) over all of its time: a correction
    that only shortens a gap or an overlap is not held back by what is left of it."""
    reached = finding.start
    for b in sorted((b for b in before if b.kind == finding.kind and b.subject == finding.subject),
                    key=lambda b: b.start):
        if b.start > reached:
            break
        reached = max(reached, b.end)
        if reached >= finding.end:
            return True
    return reached >= finding.end


@dataclass(frozen=True)
class Started:
    """The roster a bot starts on. `problems`: why the folder could not be used, when the stored one is used."""

    roster: Roster
    snapshot: RosterSnapshot
    from_store: bool
    problems: list[str]


def start(folder: Path, stored: RosterSnapshot | None, now: float) -> Started:
    """The folder's roster if it loads; otherwise the last one put in force; RosterError if there is neither.

    At a start a folder that loads is used even with gaps or other findings: refusing it would leave the bot with
    nothing to page from. Only a reload is judged against the roster in force (see the module's doc)."""
    files = read_folder(folder)
    try:
        roster = load_files(files, folder)
    except RosterError as err:
        if stored is None:
            raise
        try:
            kept = load_files(stored.files, Path(stored.folder))
        except RosterError as stored_err:
            raise RosterError([*err.problems, "the last good roster in the store cannot be used either:",
                               *stored_err.problems]) from err
        return Started(kept, stored, True, err.problems)
    return Started(roster, RosterSnapshot(digest(files), now, str(folder), files), False, [])
