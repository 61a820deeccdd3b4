"""How old each room key (inbound Megolm session) in the crypto store is, so that keys past the retention period can
be dropped: with the pickle key, a kept room key would still decrypt the homeserver's copy of a years-old police
message after the bot's own copy was purged.

nio keeps no time with a room key, so the bot notes, per session, when it first met it and when it last decrypted
a message with it (by the homeserver's clock), in `room-key-ages.json` beside the crypto store (0600; session and room
ids only). A key is dropped when its last use is before the cut-off and the bot has known it for `ROTATION_S` at
least: senders rotate their room keys weekly (Element's default), so a key still in use is never dropped after a day's
silence, whatever the retention.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from nio.store.models import ForwardedChains, MegolmInboundSessions

log = logging.getLogger(__name__)

ROTATION_S = 7 * 86400.0
NOTE_EVERY_S = 3600.0  # a key's last use is written down at most this often (a busy room writes no file per message)


class RoomKeyAges:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._ages: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                self._ages = json.loads(path.read_text())
            except (OSError, ValueError):
                log.warning("room key ages in %s unreadable: counted from now", path)

    def used(self, session_id: str, room_id: str, at: float) -> None:
        """A message of `room_id` was decrypted with `session_id`; `at` is its time (Unix seconds)."""
        age = self._ages.get(session_id)
        if age is None:
            self._ages[session_id] = {"room": room_id, "first": at, "last": at}
        elif at - float(age["last"]) >= NOTE_EVERY_S:
            age["last"] = at
        else:
            return
        self._save()

    def drop(self, olm: Any, store: Any, before: float, now: float) -> list[tuple[str, str]]:
        """Drop from nio's memory and its crypto store every room key last used before `before` and known since
        `now - ROTATION_S` or earlier; keys never met are noted as met `now`. The (room, session) of each dropped."""
        dropped: list[tuple[str, str]] = []
        changed = False
        for session in list(olm.inbound_group_store):
            age = self._ages.get(session.id)
            if age is None:
                self._ages[session.id] = age = {"room": session.room_id, "first": now, "last": now}
                changed = True
            if float(age["last"]) >= before or float(age["first"]) > now - ROTATION_S:
                continue
            olm.inbound_group_store[session.room_id][session.sender_key].pop(session.id, None)
            dropped.append((str(session.room_id), str(session.id)))
        if dropped and store is not None:
            ids = [session_id for _, session_id in dropped]
            with store.database.bind_ctx([MegolmInboundSessions, ForwardedChains]):
                ForwardedChains.delete().where(ForwardedChains.session.in_(ids)).execute()
                MegolmInboundSessions.delete().where(MegolmInboundSessions.session_id.in_(ids)).execute()
        kept = {session.id for session in olm.inbound_group_store}
        for session_id in [s for s in self._ages if s not in kept]:
            del self._ages[session_id]
            changed = True
        if changed or dropped:
            self._save()
        return dropped

    def _save(self) -> None:
        """Atomically, not fsynced (this runs on the event loop, at a decryption): only a power cut can lose a write,
        and a key's last use is noted hourly anyway; none is dropped within a week of being met."""
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(self._ages, separators=(",", ":")).encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
