"""The Matrix boundary as the runtime sees it: what comes in, what goes out, and how sending fails.

`MatrixClient` (bot/matrix/client.py) implements it with nio and E2EE; the component tests implement it in memory
(tests/harness/fakematrix.py), which is why nothing outside bot/matrix/ imports nio.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.store.sync import Head


@dataclass(frozen=True)
class SenderDevice:
    """Where a decrypted event came from, as far as the bot can tell from the keys the homeserver lists.

    The facts only; the runtime judges them against its trust policy and the identities it has pinned (bot/trust/)."""

    device_id: str  # the device whose keys match the room key's session ("" when none does)
    known: bool  # the session's sender keys are those of a device of the sender with validly self-signed keys
    cross_signed: bool  # that device is signed by its owner's cross-signing identity
    master_key: str | None  # the sender's cross-signing master key as listed now (None: no identity)


@dataclass(frozen=True)
class Incoming:
    """One event the bot may act on, stripped of nio types."""

    kind: str  # "message" | "reaction" | "redaction" | "undecryptable"
    event_id: str
    room_id: str
    sender: str
    origin_ts: int
    body: str = ""
    reply_to: str | None = None  # m.in_reply_to event id
    replaces: str | None = None  # an edit: the event whose text this replaces
    redacts: str | None = None  # a redaction: the event removed
    reacts_to: str | None = None  # for reactions
    key: str = ""  # reaction key, e.g. "✅"
    source: dict[str, Any] = field(default_factory=dict)  # undecryptable: the encrypted event, for a later retry
    # Decrypted events only: the device it came from. None: it came in the clear (a redaction always does).
    sender_device: SenderDevice | None = None


@dataclass(frozen=True)
class Membership:
    """Someone's membership in a room changed (a join, an invitation, a knock, a leave, a kick)."""

    room_id: str
    user_id: str
    membership: str
    sender: str
    previous: str = ""  # the membership before this change ("invite" for someone accepting an invitation)


@dataclass(frozen=True)
class RoomCheck:
    """How a room the bot made for some people stands: who is in it that should not be, and what of its settings
    would let someone else in or change it."""

    strangers: tuple[str, ...] = ()  # joined, invited or knocking, and not among those the room is for
    flaws: tuple[str, ...] = ()  # "unencrypted", "join_rule", "power:<user>", "history", "unknown"

    @property
    def sound(self) -> bool:
        return not self.strangers and not self.flaws


@dataclass(frozen=True)
class Receipt:
    """`user_id` has read `room_id` up to `event_id` (a public m.read receipt; private ones never reach the bot)."""

    room_id: str
    user_id: str
    event_id: str
    ts: float  # when, in seconds, by the homeserver's clock


@dataclass(frozen=True)
class Batch:
    """One sync response: its events (gaps filled), the position after it, and the newest event of every room."""

    events: list[Incoming]
    next_batch: str
    heads: Mapping[str, Head]
    receipts: list[Receipt] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)


BatchHandler = Callable[[Batch], Awaitable[None]]


@dataclass
class Health:
    homeserver: str = "starting"  # starting | ok | unreachable | session revoked
    last_sync_at: float = 0.0
    consecutive_errors: int = 0
    last_error: str = ""
    # The last time the homeserver answered anything (a sync, a send, a probe), by time.time(): a hung homeserver,
    # its port open and nothing coming back, shows here as surely as one that refuses.
    last_answer_at: float = 0.0

    def answered(self, at: float) -> None:
        self.last_answer_at = max(self.last_answer_at, at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "homeserver": self.homeserver,
            "last_sync_at": self.last_sync_at,
            "last_answer_at": self.last_answer_at,
            "consecutive_errors": self.consecutive_errors,
            "last_error": self.last_error,
        }


# Why a message could not be delivered, for people ("forbidden") and for the sender (never retried); every other
# reason (network, server, rate_limited, keys, unauthorized, stranger, timeout) is transient: retried. "dropped": a
# message its channel found no longer needed (bot/channels/channel.py).
PERMANENT_REASONS = ("too_large", "forbidden", "unknown_user", "no_trusted_device", "identity_changed", "room_gone",
                     "rejected", "dropped")


class SessionRevoked(Exception):
    """The homeserver no longer accepts the bot's access token, and the bot could not log in again."""


class DeliveryFailure(Exception):
    """Sending failed. Transient failures are retried with the same transaction id; permanent ones never are."""

    def __init__(self, reason: str, detail: str, retry_after_s: float | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.retry_after_s = retry_after_s

    @property
    def permanent(self) -> bool:
        return self.reason in PERMANENT_REASONS


def failure_for_status(http_status: int | None, errcode: str, detail: str,
                       retry_after_ms: int | None = None) -> DeliveryFailure:
    """Classify the homeserver's refusal (HTTP status and Matrix errcode)."""
    if http_status == 429 or errcode == "M_LIMIT_EXCEEDED":
        return DeliveryFailure("rate_limited", detail, (retry_after_ms or 1000) / 1000)
    if http_status == 401 or errcode in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        return DeliveryFailure("unauthorized", detail)  # our session, not the message: retried after a new login
    if http_status == 413 or errcode == "M_TOO_LARGE":
        return DeliveryFailure("too_large", detail)
    if http_status == 403 or errcode == "M_FORBIDDEN":
        return DeliveryFailure("forbidden", detail)
    if errcode in ("M_NOT_FOUND", "M_UNKNOWN") and "user" in detail.lower():
        return DeliveryFailure("unknown_user", detail)
    if http_status == 404:
        return DeliveryFailure("room_gone", detail)
    if http_status is not None and 400 <= http_status < 500 and http_status != 408:
        return DeliveryFailure("rejected", detail)
    return DeliveryFailure("server", detail)


def backoff(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter, so many clients do not hammer a recovering homeserver in step."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(0, attempt)))


class IdentityGate(Protocol):
    @property
    def version(self) -> int:
        """Grows whenever what `admits` answers may have changed (a pin made, changed or confirmed)."""

    def admits(self, user_id: str, master_key: str | None) -> bool:
        """Whether `user_id`'s devices may get the keys to what the bot sends, with `master_key` listed for them
        now (a pinned identity that changed admits nobody until a supervisor confirms it)."""

    def seen_devices(self, user_id: str, device_ids: frozenset[str]) -> None:
        """The devices the homeserver lists for `user_id` now (new ones are reported to the supervisors daily)."""


class AdmitAll:
    """The gate before the runtime sets its own: every identity admitted."""

    version = 0

    def admits(self, user_id: str, master_key: str | None) -> bool:
        return True

    def seen_devices(self, user_id: str, device_ids: frozenset[str]) -> None:
        return None


class MatrixPort(Protocol):
    @property
    def ready(self) -> asyncio.Event:
        """Set once the first sync has loaded the rooms; nothing is sent before."""
    @property
    def health(self) -> Health: ...
    @property
    def device_id(self) -> str: ...

    async def login(self, password: str) -> bool:
        """Restore the saved device or log in; True if restored."""
    async def login_again(self, password: str) -> None:
        """The saved session was revoked: log in anew (a new device) and keep syncing from where the bot was."""
    def set_on_session_lost(self, callback: Callable[[], Awaitable[bool]]) -> None:
        """`callback` runs when the homeserver refuses the session; False (or no callback) ends the sync with
        SessionRevoked."""
    async def cross_sign(self, password: str) -> None: ...
    async def sync_forever(self, since: str | None, heads: Mapping[str, Head], on_batch: BatchHandler,
                           stop: asyncio.Event) -> None:
        """Sync until `stop`; `on_batch` must have recorded what matters of a batch before it returns."""
    async def send(self, room_id: str, content: dict[str, Any], txn_id: str, must_reach: str | None = None,
                   audience: frozenset[str] | None = None) -> str:
        """Send once and return the event id, or raise DeliveryFailure. `must_reach`: the user it is for.
        `audience`: the room is one the bot made for these people; it is not sent while the room is not sound
        (`room_check`) — DeliveryFailure("stranger"), tried again once the room is."""
    async def prepare_room(self, room_id: str, user_id: str) -> None:
        """Get the room ready to carry a message to `user_id` (its key shared), so the next one leaves at once."""
    async def create_direct_room(self, user_id: str) -> str:
        """A new encrypted direct room with `user_id`; raises DeliveryFailure."""
    def direct_room_usable(self, room_id: str, user_id: str) -> bool:
        """The bot is in `room_id`, it is encrypted, and `user_id` is joined or invited."""
    def room_check(self, room_id: str, audience: frozenset[str]) -> RoomCheck:
        """How a room the bot made for `audience` stands (the bot itself always belongs)."""
    async def kick(self, room_id: str, user_id: str, reason: str) -> None:
        """Remove `user_id` from `room_id`; raises DeliveryFailure."""
    def set_identity_gate(self, gate: IdentityGate) -> None:
        """Who may read what the bot sends, by the identity the homeserver lists for them (bot/trust/)."""
    # --- alarm rooms (bot/alarm/rooms.py) ---
    async def create_alarm_room(self, name: str, invite: list[str]) -> str:
        """A new encrypted private room named `name`, with `invite` invited; raises DeliveryFailure."""
    async def invite(self, room_id: str, user_id: str) -> None:
        """Invite `user_id` into `room_id`; raises DeliveryFailure."""
    async def leave_room(self, room_id: str) -> None:
        """Leave `room_id` (and forget it); raises DeliveryFailure."""
    def room_known(self, room_id: str) -> bool: ...
    def room_encrypted(self, room_id: str) -> bool: ...
    def display_name(self, user_id: str, room_id: str | None = None) -> str | None:
        """`user_id`'s display name as the bot's sync knows it: in `room_id` if given and known there, else in any
        room shared with them; None if they have none."""
    async def request_key(self, source: dict[str, Any]) -> None: ...
    async def try_decrypt(self, source: dict[str, Any]) -> Incoming | None: ...
    def drop_room_keys(self, before: float, now: float) -> int:
        """Forget every room key (inbound Megolm session) last used before `before` and known for a week at least
        (senders rotate theirs weekly), police rooms' among them: once the bot's copy of a message is purged, the
        homeserver's copy can no longer be decrypted with the crypto store. `now` is the runtime's clock. How many
        were dropped."""
    async def handed_out(self, event_id: str, within: float) -> None:
        """Return once the bot's own sync has shown `event_id` (one it sent), or after `within` seconds. The
        homeserver wakes every reader's sync for an event at once, so the bot's own is the sign that the room's
        readers are getting it now: until then, another request the bot sends competes with their syncs."""
    def set_on_recovered(self, callback: Callable[[float], None]) -> None:
        """`callback(down_s)` runs when the homeserver answers again after an outage of `down_s` seconds (counted
        from its last answer before)."""
    async def close(self) -> None: ...
