"""Which events may make the bot act.

A stolen password, or a login a homeserver administrator mints, gives a session with no keys: it can send plain,
unencrypted events into an encrypted room, and the homeserver delivers them like any other. So in an encrypted room
only what the bot decrypted counts, and only from a device of its sender whose keys the bot knows — under
`trust = "cross-signed"`, one its owner cross-signed — and whose owner's identity is the one pinned for them
(bot/trust/identities.py). In a room that is not encrypted the bot acts on nothing at all.

What is refused changes nothing. Its sender is told why, at most once per room (per sender, where it is about their
session) every QUIET_S, so a client that keeps sending in the clear does not make the bot chatty.

A redaction is the one event that is never encrypted (the homeserver must read what it removes); the only thing
one can make the bot do is answer that the alarm stands (handlers/alarm.py), so it passes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.effects import Effect, Reply
from bot.core.i18n import t
from bot.trust.identities import IdentityPins

QUIET_S = 600.0


class Verdict(enum.Enum):
    ACT = "act"
    UNENCRYPTED_ROOM = "unencrypted-room"
    PLAINTEXT = "plaintext"
    UNKNOWN_DEVICE = "unknown-device"
    NOT_CROSS_SIGNED = "not-cross-signed"
    IDENTITY_CHANGED = "identity-changed"
    STRANGER = "stranger"  # someone in a room the bot owns who is not among those it is for: not answered


@dataclass(frozen=True)
class Origin:
    """Where an event came from, as recorded with it (bot/intake/inbox.py keeps it in the event's sealed payload)."""

    decrypted: bool
    device_id: str = ""
    known: bool = False
    cross_signed: bool = False
    master_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"decrypted": self.decrypted, "device": self.device_id, "known": self.known,
                "cross_signed": self.cross_signed, "master_key": self.master_key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Origin:
        if not isinstance(data, Mapping):
            return cls(decrypted=False)  # recorded before origins were: judged as plaintext, never trusted blindly
        master = data.get("master_key")
        return cls(bool(data.get("decrypted")), str(data.get("device") or ""), bool(data.get("known")),
                   bool(data.get("cross_signed")), master if isinstance(master, str) else None)


def judge(kind: str, origin: Origin, room_encrypted: bool, policy: str, in_audience: bool,
          identity_admitted: Callable[[str | None], bool]) -> Verdict:
    """The verdict on one event (`kind` as the inbox records it). `identity_admitted` is asked last, and only of a
    device the bot knows, so a first-seen identity is pinned only from a genuine device."""
    if not room_encrypted:
        return Verdict.UNENCRYPTED_ROOM
    if not in_audience:
        return Verdict.STRANGER
    if kind == "redaction":
        return Verdict.ACT
    if not origin.decrypted:
        return Verdict.PLAINTEXT
    if not origin.known:
        return Verdict.UNKNOWN_DEVICE
    if policy == "cross-signed" and not origin.cross_signed:
        return Verdict.NOT_CROSS_SIGNED
    if not identity_admitted(origin.master_key):
        return Verdict.IDENTITY_CHANGED
    return Verdict.ACT


class Notices:
    """When a refused sender was last told, so they are told once per room every QUIET_S (kept in memory: a restart
    costs at most one more notice)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._told: dict[tuple[str, str, str], float] = {}

    def due(self, verdict: Verdict, room_id: str, sender: str) -> bool:
        if verdict not in NOTICES:
            return False
        # About the room (clear text there): once per room. About someone's session: once per person and room.
        who = "" if verdict in (Verdict.UNENCRYPTED_ROOM, Verdict.PLAINTEXT) else sender
        key = (verdict.value, room_id, who)
        now = self.clock()
        last = self._told.get(key)
        if last is not None and now - last < QUIET_S:
            return False
        self._told[key] = now
        return True


NOTICES = {
    Verdict.UNENCRYPTED_ROOM: "trust.refused.unencrypted_room",
    Verdict.PLAINTEXT: "trust.refused.plaintext",
    Verdict.UNKNOWN_DEVICE: "trust.refused.unknown_device",
    Verdict.NOT_CROSS_SIGNED: "trust.refused.not_cross_signed",
    Verdict.IDENTITY_CHANGED: "trust.refused.identity_changed",
}


def notice_text(verdict: Verdict, lang: str, name: str) -> str:
    return t(NOTICES[verdict], lang, name=name)


class SenderTrust:
    """The judge as the inbox uses it: the verdict on a recorded event, and what its sender is told."""

    def __init__(self, policy: str, identities: IdentityPins, room_encrypted: Callable[[str], bool],
                 room_known: Callable[[str], bool], audience_of: Callable[[str], frozenset[str] | None],
                 clock: Callable[[], float], lang: str) -> None:
        self.policy = policy
        self.identities = identities
        self.room_encrypted = room_encrypted
        self.room_known = room_known
        self.audience_of = audience_of
        self.lang = lang
        self.notices = Notices(clock)

    def verdict(self, kind: str, sender: str, room_id: str, origin: Origin) -> Verdict:
        audience = self.audience_of(room_id)
        return judge(kind, origin, self.room_encrypted(room_id), self.policy,
                     audience is None or sender in audience,
                     lambda master: self.identities.admits(sender, master))

    def answer(self, verdict: Verdict, room_id: str, sender: str, name: str) -> list[Effect]:
        """The short notice for a refused event, when one is due; nothing otherwise."""
        if not self.room_known(room_id) or not self.notices.due(verdict, room_id, sender):
            return []
        return [Reply(notice_text(verdict, self.lang, name), refusal=True)]
