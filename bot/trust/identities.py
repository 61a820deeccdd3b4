"""Each person's cross-signing identity, pinned on first sight.

A password is enough to reset someone's cross-signing identity and sign a new device with it. So the master key the
homeserver lists for a person is compared with the one pinned for them: while it differs, nothing the bot sends is
encrypted for that person's devices (a page counts as undeliverable, and the chain moves on at once), nothing they
write makes the bot act, and the supervisors are told by name — in chat when it happens, and on the readiness page
and in the daily report until one of them, having checked with the person, confirms the new identity (`!litar`).

Both paths meet here: the room keys (bot/matrix/roomkeys.py asks `admits` before sharing a key) and the commands
(bot/trust/senders.py). Every pin, change and confirmation is in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core.effects import Effect, Mention, SendUser
from bot.core.i18n import t
from bot.store import Pin, Store

log = logging.getLogger(__name__)

Queue = Callable[[list[Effect], str], None]


class IdentityPins:
    def __init__(self, store: Store, supervisors: Callable[[], set[str]], name_of: Callable[[str], str],
                 queue: Queue, clock: Callable[[], float], lang: str, bot_user: str) -> None:
        self.store = store
        self.supervisors = supervisors
        self.name_of = name_of
        self.queue = queue
        self.clock = clock
        self.lang = lang
        self.bot_user = bot_user
        self._version = 0
        self._devices: set[tuple[str, str]] | None = None  # (user, device) already in the store

    @property
    def version(self) -> int:
        """Grows whenever a pin changes, so cached judgements of who may read a room are made again."""
        return self._version

    def admits(self, user_id: str, master_key: str | None) -> bool:
        """Whether `user_id` is still who they were: pins a first-seen identity, notices a changed one."""
        if user_id == self.bot_user:
            return True
        pin = self.store.identities.get(user_id)
        if pin is None:
            if master_key is not None:
                with self.store.transaction():
                    self.store.identities.pin(user_id, master_key, self.clock())
                    self.store.audit.append(user_id, "identity.pinned", user_id, {"master_key": master_key})
                self._version += 1
            return True
        if master_key == pin.master_key:
            if pin.changed:
                # Only the holder of the pinned identity's private key can bring it back: it is them again.
                with self.store.transaction():
                    self.store.identities.pin(user_id, pin.master_key, pin.pinned_at)
                    self.store.audit.append(user_id, "identity.restored", user_id)
                self._version += 1
            return True
        if pin.changed and pin.seen_key == (master_key or ""):
            return False  # already known and told
        self._changed(pin, master_key)
        return False

    def _changed(self, pin: Pin, master_key: str | None) -> None:
        name = self.name_of(pin.user_id)
        log.warning("the cross-signing identity of %s changed; nothing is sent to them until it is confirmed",
                    pin.user_id)
        text = t("trust.identity_changed_supervisor", self.lang, name=name, user=pin.user_id)
        with self.store.transaction():
            first = not pin.changed
            self.store.identities.mark_changed(pin.user_id, master_key or "", self.clock())
            entry = self.store.audit.append(pin.user_id, "identity.changed", pin.user_id,
                                            {"pinned": pin.master_key, "seen": master_key or ""})
            if first:  # a second, different key while waiting is in the trail; the supervisors are waiting already
                told = sorted(self.supervisors() - {pin.user_id})
                self.queue([SendUser(s, text, (Mention(s, self.name_of(s)),)) for s in told], f"identity:audit:{entry}")
        self._version += 1

    def seen_devices(self, user_id: str, device_ids: frozenset[str]) -> None:
        """Remember every device listed for a person; one that appears under a known person is news for the daily
        report to the supervisors (in `tofu` mode the bot shares keys with it without anyone having signed it)."""
        if self._devices is None:
            self._devices = self.store.identities.known_devices()
        fresh = sorted(d for d in device_ids if (user_id, d) not in self._devices)
        if not fresh:
            return
        with self.store.transaction():
            new = self.store.identities.note_devices(user_id, fresh, self.clock())
            for device in new:
                self.store.audit.append(user_id, "device.appeared", user_id, {"device": device})
        self._devices.update((user_id, d) for d in fresh)

    def changed(self) -> list[Pin]:
        """Everyone waiting for a supervisor's confirmation."""
        return self.store.identities.changed()

    def changed_identities(self) -> list[str]:
        return [pin.user_id for pin in self.changed()]

    def confirm_identity(self, user_id: str, by: str) -> bool:
        """A supervisor vouches for `user_id`'s new identity (inside the caller's transaction); False if there was
        no change to confirm."""
        pin = self.store.identities.get(user_id)
        if pin is None or not pin.changed or pin.seen_key is None:
            return False
        if pin.seen_key:
            self.store.identities.pin(user_id, pin.seen_key, self.clock())
        else:
            # The identity was removed altogether: the next one to appear is pinned on sight.
            self.store.identities.forget(user_id)
        self.store.audit.append(by, "identity.confirmed", user_id, {"master_key": pin.seen_key})
        self._version += 1
        return True
