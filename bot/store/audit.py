"""The audit trail: append-only, each entry MACed together with the MAC of the one before, under a key derived from the
data key (kept apart from the database), and anchored outside the database by its head.

- A rewritten entry shows: its MAC cannot be made again without the key, even with every later one recomputed.
- Removed entries show: the head (the newest entry's number and MAC) is written to a file beside the database after
  every commit that added entries (`audit-head.json`, 0600, atomically; in the running bot up to HEAD_WRITE_AFTER_S
  later, once for all the commits of that moment) and posted to the supervisors in chat (the
  runtime's `bot/watch/trail.py`); `jourbot audit verify` checks the trail against the file and against a head read
  from chat (`--head SEQ:MAC`). A trail that ends before its head was cut.
- What must not outlive the retention period (a protection decision, a reason) is kept apart in each entry, in
  `private` (JSON with a random nonce); the MAC covers only its SHA-256 (`private_digest`), so the purge can drop it
  without breaking the chain, and the digest, salted by the nonce that went with it, says nothing of what it was.

Databases from before the key (an unkeyed SHA-256 chain) are MACed anew from the start once, at the first open with
the key; the entry `audit.rekeyed` records it and what the old chain's check found.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.store.db import Database, Topic
from bot.store.meta import Meta

log = logging.getLogger(__name__)

GENESIS = "0" * 64
CHAIN_KEY = "audit_chain"  # meta: how the chain is made
CHAIN = "hmac-sha256"
# What an entry's data may say that the retention purge takes away (the evaluation's figures never need them).
PRIVATE_FIELDS = frozenset({"decision", "reason", "note", "text", "details"})
# Replacing the head file takes milliseconds, and at the commit that queued a page it held up the page's send: in the
# running bot the file is written this long after a commit, once for every commit in between.
HEAD_WRITE_AFTER_S = 0.2


@dataclass(frozen=True)
class Head:
    seq: int
    mac: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.mac}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, _, mac = text.strip().partition(":")
        if not seq.isdigit() or len(mac) < 32 or any(c not in "0123456789abcdef" for c in mac.lower()):
            raise ValueError(f"expected SEQ:MAC (a number, a colon, at least 32 hexadecimal digits), got {text!r}")
        return cls(int(seq), mac.lower())


@dataclass
class Verdict:
    """What `check` found: the chain, and the trail against each head it was given."""

    entries: int = 0
    last: Head | None = None
    problems: list[str] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)  # cuts found and recorded by the bot (audit.gap)
    rekeyed: list[dict[str, Any]] = field(default_factory=list)  # audit.rekeyed entries

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _legacy_hash(prev: str, at: float, actor: str, action: str, subject: str, data: str) -> str:
    material = json.dumps([prev, repr(at), actor, action, subject, data], separators=(",", ":"))
    return _sha(material)


def split(data: dict[str, Any]) -> tuple[str, str | None]:
    """An entry's data as (what it keeps, what the purge may take: JSON with a nonce, or None)."""
    kept = {k: v for k, v in data.items() if k not in PRIVATE_FIELDS}
    private = {k: v for k, v in data.items() if k in PRIVATE_FIELDS}
    body = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    if not private:
        return body, None
    return body, json.dumps({"nonce": secrets.token_hex(16), **private}, sort_keys=True, separators=(",", ":"))


class Audit:
    def __init__(self, db: Database, clock: Callable[[], float], key: bytes, head_path: Path | None = None) -> None:
        self.db = db
        self.clock = clock
        self._key = key
        self.head_path = head_path
        self.meta = Meta(db)
        self._head_due: asyncio.TimerHandle | None = None
        db.on_commit(Topic.AUDIT, self._head_moved)

    def _mac(self, prev: str, at: float, actor: str, action: str, subject: str, data: str, digest: str,
             key: bytes | None = None) -> str:
        material = json.dumps([prev, repr(at), actor, action, subject, data, digest], separators=(",", ":"))
        return hmac.new(key or self._key, material.encode(), hashlib.sha256).hexdigest()

    def append(self, actor: str, action: str, subject: str = "", data: dict[str, Any] | None = None) -> int:
        """Call inside the transaction that makes the change the entry describes; the entry's number."""
        head = self.head()
        prev = head.mac if head else GENESIS
        at = self.clock()
        body, private = split(data or {})
        digest = _sha(private) if private is not None else ""
        cur = self.db.execute(
            "INSERT INTO audit(at, actor, action, subject, data, prev, hash, private, private_digest)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
            [at, actor, action, subject, body, prev, self._mac(prev, at, actor, action, subject, body, digest),
             private, digest],
        )
        self.db.changed(Topic.AUDIT)
        return int(cur.fetchone()[0])

    def head(self) -> Head | None:
        """The newest entry's number and MAC, as the database has it."""
        row = self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return Head(int(row[0]), str(row[1])) if row else None

    # --- the head outside the database ---------------------------------------------------------------------------
    def _head_moved(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the command line, a test: nothing to wait for
            self.write_head()
            return
        if self._head_due is None:
            self._head_due = loop.call_later(HEAD_WRITE_AFTER_S, self._write_due_head)

    def _write_due_head(self) -> None:
        try:
            self.flush_head()
        except Exception:  # a later commit tries again; the loop must not see it
            log.exception("writing the audit head file failed")

    def flush_head(self) -> None:
        """Write the head now if a write is waiting (its moment came, or the store closes)."""
        if self._head_due is not None:
            self._head_due.cancel()
            self._head_due = None
            self.write_head()

    def write_head(self) -> None:
        """After a commit that added entries: the head to its file (atomic, 0600; not fsynced, as the database's
        commits are not — see the README, "Durability")."""
        head = self.head()
        if self.head_path is None or head is None:
            return
        text = json.dumps({"seq": head.seq, "mac": head.mac, "written_at": time.time()}) + "\n"
        tmp = self.head_path.with_name(f".{self.head_path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.head_path)

    def head_from_file(self) -> Head | None:
        if self.head_path is None or not self.head_path.exists():
            return None
        saved = json.loads(self.head_path.read_text())
        return Head(int(saved["seq"]), str(saved["mac"]))

    # --- checking ----------------------------------------------------------------------------------------------------
    def verify(self) -> tuple[bool, int, str]:
        """(intact, entries checked, the first problem) of the chain itself."""
        verdict = self.check()
        return verdict.ok, verdict.entries, verdict.problems[0] if verdict.problems else ""

    def check(self, heads: Sequence[tuple[str, Head]] = ()) -> Verdict:
        """The chain entry by entry under the key, and the trail against each (where it was read, head) given."""
        verdict = Verdict()
        prev = GENESIS
        macs: dict[int, str] = {}
        for seq, at, actor, action, subject, data, stored_prev, mac, private, digest in self.db.execute(
            "SELECT seq, at, actor, action, subject, data, prev, hash, private, private_digest FROM audit ORDER BY seq"
        ):
            verdict.entries += 1
            if stored_prev != prev:
                verdict.problems.append(f"entry {seq}: does not follow the entry before it")
                break
            if not hmac.compare_digest(self._mac(prev, at, actor, action, subject, data, digest or ""), str(mac)):
                verdict.problems.append(f"entry {seq}: altered (its MAC does not match)")
                break
            if private is not None and _sha(private) != digest:
                verdict.problems.append(f"entry {seq}: altered (its private part does not match)")
                break
            if action == "audit.gap":
                verdict.gaps.append({"seq": seq, "at": at, **json.loads(data)})
            elif action == "audit.rekeyed":
                verdict.rekeyed.append({"seq": seq, "at": at, **json.loads(data)})
            prev = str(mac)
            macs[int(seq)] = prev
            verdict.last = Head(int(seq), prev)
        if verdict.problems:
            return verdict
        for where, head in heads:
            verdict.problems.extend(self._against(head, where, macs, verdict.last))
        return verdict

    @staticmethod
    def _against(head: Head, where: str, macs: dict[int, str], last: Head | None) -> list[str]:
        if head.seq not in macs:
            newest = last.seq if last else 0
            if head.seq > newest:
                return [f"the trail ends at entry {newest}, but the head in {where} is entry {head.seq}:"
                        f" {head.seq - newest} entries were removed"]
            return [f"entry {head.seq}, the head in {where}, is missing from the trail"]
        if not macs[head.seq].startswith(head.mac):
            return [f"entry {head.seq} is not the one the head in {where} names: the trail was rewritten"]
        return []

    def cut(self) -> str:
        """Why the trail does not reach the head in its file (newest entries removed, or rewritten), or ""."""
        saved = self.head_from_file()
        if saved is None:
            return ""
        verdict = self.check([("the head file", saved)])
        return "; ".join(verdict.problems)

    # --- upgrading and rekeying ------------------------------------------------------------------------------------
    def upgrade(self) -> None:
        """A chain from before the key (unkeyed SHA-256): MACed anew from the start, once, and the entry
        `audit.rekeyed` says so, with what the old chain's own check found."""
        if self.meta.get(CHAIN_KEY) == CHAIN:
            return
        with self.db.transaction():
            legacy = self._legacy_verdict()
            count = self._remac(self._key, split_legacy=True)
            self.meta.set(CHAIN_KEY, CHAIN)
            if count:
                self.append("jourbot", "audit.rekeyed", "", {"entries": count, "from": "sha256",
                                                             "old_chain": legacy or "intact"})

    def rekey(self, key: bytes) -> int:
        """Every MAC made anew under `key` (`jourbot keys rotate-data`); call inside the transaction that re-seals
        the fields. The chain is checked under the old key first; what it found goes into `audit.rekeyed`."""
        verdict = self.check()
        before = self.head()
        count = self._remac(key)
        self._key = key
        self.append("jourbot", "audit.rekeyed", "", {"entries": count, "from": "data key rotation",
                                                     "old_chain": "; ".join(verdict.problems) or "intact",
                                                     "old_head": str(before) if before else ""})
        return count

    def _remac(self, key: bytes, split_legacy: bool = False) -> int:
        rows = self.db.execute(
            "SELECT seq, at, actor, action, subject, data, private, private_digest FROM audit ORDER BY seq"
        ).fetchall()
        prev = GENESIS
        for seq, at, actor, action, subject, data, private, digest in rows:
            if split_legacy:
                data, private = split(json.loads(data or "{}"))
                digest = _sha(private) if private is not None else ""
            mac = self._mac(prev, at, actor, action, subject, data, digest or "", key)
            self.db.execute("UPDATE audit SET data = ?, private = ?, private_digest = ?, prev = ?, hash = ?"
                            " WHERE seq = ?", [data, private, digest or "", prev, mac, seq])
            prev = mac
        if rows:
            self.db.changed(Topic.AUDIT)
        return len(rows)

    def _legacy_verdict(self) -> str:
        prev = GENESIS
        for seq, at, actor, action, subject, data, stored_prev, stored_hash in self.db.execute(
            "SELECT seq, at, actor, action, subject, data, prev, hash FROM audit ORDER BY seq"
        ):
            if stored_prev != prev:
                return f"entry {seq}: does not follow the entry before it"
            if _legacy_hash(prev, at, actor, action, subject, data) != stored_hash:
                return f"entry {seq}: altered"
            prev = stored_hash
        return ""

    # --- reading -----------------------------------------------------------------------------------------------------
    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest entries first; `data` with what the purge has not taken yet."""
        return self._read("SELECT seq, at, actor, action, subject, data, private FROM audit ORDER BY seq DESC LIMIT ?",
                          [limit])

    def about(self, subject: str) -> list[dict[str, Any]]:
        """Every entry about `subject` (an alarm id, say), oldest first: its history as the trail recorded it."""
        return self._read("SELECT seq, at, actor, action, subject, data, private FROM audit WHERE subject = ?"
                          " ORDER BY seq", [subject])

    def _read(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for seq, at, actor, action, subject, data, private in self.db.execute(sql, params).fetchall():
            if private is not None:
                whole = {**json.loads(data), **{k: v for k, v in json.loads(private).items() if k != "nonce"}}
                data = json.dumps(whole, sort_keys=True, separators=(",", ":"))
            found.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "data": data})
        return found
