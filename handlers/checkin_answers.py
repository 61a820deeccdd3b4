"""Answering a shift check-in: a ✅ on the question, or a reply "ok"/"redo" to it.

A ✅ on a page still accepts the alarm (handlers/alarm.py): the desk answers only a check-in the ✅ or the reply is
about, or, in the person's own direct room, the one question they have open.
"""

from __future__ import annotations

from bot.core.effects import Effect
from handlers.alarm import ACCEPT_WORDS, accepts_by_reaction
from handlers.registry import EVERYONE, Context, Passive, Registry
from rosters.names import fold

READY_WORDS = ACCEPT_WORDS | {"redo", "klar", "ready"}  # what accepts a page, and what says "I'm here"


def ready_by_reply(text: str) -> bool:
    return fold(text.strip()).rstrip(".!") in READY_WORDS


ready_by_reaction = accepts_by_reaction  # the same ✅, ✔ or 👍


def register(registry: Registry) -> None:
    @registry.passive("reaction", ready_by_reaction, roles=EVERYONE)
    @registry.passive("reply", ready_by_reply, roles=EVERYONE)
    def ready(event: Passive, ctx: Context) -> list[Effect]:
        return ctx.services.checkins.answer(event.sender, event.room_id, event.relates_to, ctx.now)
