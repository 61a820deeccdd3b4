"""The outbox: effects become stored messages inside the transaction that caused them, each with its target (a person,
a room, an alarm room, a person by SMS), its urgency (pages, then everything else about an alarm, then the rest) and
its delivery deadline (a page's is short: past it, its person counts as unreachable). Everything the bot sends fits the
homeserver's size limit by construction. After the commit the sender (bot/channels/sender.py) carries the messages
out, each through the channel of its target (bot/channels/channel.py).

In an alarm room, an answer to a command is queued for the alarm room as a target, not for the room id, so it keeps
one order with the room's own messages: the answer to `!klar` before the farewell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.effects import Effect, PageUser, Reply, SendRoom, SendUser
from bot.matrix.content import MAX_CONTENT_BYTES, content_for, content_size, longest_fitting
from bot.store import NewMessage, Store
from bot.store.outbox import alarm_purpose, page_purpose, reminder_purpose

log = logging.getLogger(__name__)

PAGE, ALARM, OTHER = 0, 1, 2


@dataclass(frozen=True)
class Origin:
    """What caused a set of messages. `cause` must be unique per set (an event id, a deadline, a delivery): the
    messages' transaction ids are derived from it. `room_id`/`event_id`: where a Reply goes and what it answers."""

    cause: str
    room_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class OutboxSettings:
    page_delivery_s: float = 60.0  # a page not delivered by then: its person counts as unreachable
    message_delivery_s: float = 900.0  # any other message: logged as overdue
    concurrency: int = 8  # targets served at once
    reserved_for_alarms: int = 2  # of those, slots ordinary traffic may not take


class Outbox:
    """Queueing only: it needs the store and nothing that sends, so every part of the bot can be given it when made."""

    def __init__(self, store: Store, clock: Callable[[], float], settings: OutboxSettings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        # Set when a page is queued, taken by the sender at the next commit: a page's send starts right after it.
        self.page_queued = False

    # --- queueing (inside the caller's transaction) ------------------------------------------------------------------
    def queue(self, effects: Sequence[Effect], origin: Origin) -> None:
        for index, effect in enumerate(effects):
            message = self._message(effect, origin)
            self.store.outbox.add(message, origin.cause, index)
            if message.priority == PAGE:
                self.page_queued = True

    def queue_once(self, message: NewMessage, cause: str) -> bool:
        """A message a channel made itself (an SMS), unless `cause` queued one before; True if queued now."""
        return self.store.outbox.add_once(message, cause)

    def _message(self, effect: Effect, origin: Origin) -> NewMessage:
        now = self.clock()
        later = now + self.settings.message_delivery_s
        if isinstance(effect, PageUser):
            content = _fitted(effect.text, lambda text: content_for(text, mentions=(effect.mention,)))
            purpose = (reminder_purpose if effect.reminder else page_purpose)(effect.alarm, effect.step)
            return NewMessage("user", effect.user_id, content, purpose, PAGE, now + self.settings.page_delivery_s)
        purpose, priority = (alarm_purpose(effect.alarm), ALARM) if effect.alarm else ("notice", OTHER)
        if isinstance(effect, Reply):
            if origin.room_id is None:
                raise ValueError(f"a Reply needs the room of a command ({origin.cause})")
            alarm_room_of = self.store.alarm_rooms.alarm_of_open_room(origin.room_id)
            reply = effect

            def answer(text: str) -> dict[str, Any]:
                # The HTML goes with the whole text only: a shortened message is read as plain text.
                html = reply.html if text == reply.text else None
                return content_for(text, reply.notice, reply_to=origin.event_id, html_text=html)

            content = _fitted(effect.text, answer)
            if alarm_room_of is not None:
                # In an alarm room the answer keeps one order with the room's own rows: before the farewell.
                return NewMessage("alarm", alarm_room_of, content, alarm_purpose(alarm_room_of), ALARM, later)
            return NewMessage("room", origin.room_id, content, purpose if effect.alarm else "reply", priority, later)
        if isinstance(effect, SendRoom):
            content = _fitted(effect.text, lambda text: content_for(text, reply_to=effect.reply_to,
                                                                    mentions=effect.mentions))
            return NewMessage("room", effect.room_id, content, purpose, priority, later)
        if isinstance(effect, SendUser):
            content = _fitted(effect.text, lambda text: content_for(text, mentions=effect.mentions))
            return NewMessage("user", effect.user_id, content, purpose, priority, later)
        raise TypeError(f"not a message: {effect!r}")

def _fitted(text: str, build: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The message, shortened with a marker if it would not fit the homeserver's limit: nothing the bot sends may be
    refused for its size. (Pages are fitted before this, keeping the rest for the acceptor; this is the last guard.)"""
    content = build(text)
    if content_size(content) <= MAX_CONTENT_BYTES:
        return content
    cut = longest_fitting(text, lambda head: build(head + " …"))
    log.warning("a message of %d characters was shortened to %d to fit", len(text), cut)
    return build(text[:cut] + " …")
