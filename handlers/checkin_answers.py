"""Answering a shift check-in: a ✅ on the question, or a reply "ok"/"redo" to it.

A ✅ on a page still accepts the alarm (handlers/alarm.py): the desk answers only a check-in the ✅ or the reply is
about, or, in the person's own direct room, the one question they have open.
"""

from __future__ import annotations

from handlers.effects import Effect
from handlers.registry import EVERYONE, Context, Passive, Registry
from rosters.names import fold

READY_WORDS = frozenset({"ok", "okej", "ja", "redo", "klar", "yes", "ready"})
READY_REACTIONS = ("✅", "✔", "👍")


def ready_by_reply(text: str) -> bool:
    return fold(text.strip()).rstrip(".!") in READY_WORDS


def ready_by_reaction(key: str) -> bool:
    return key.startswith(READY_REACTIONS)


def register(registry: Registry) -> None:
    @registry.passive("reaction", ready_by_reaction, roles=EVERYONE)
    @registry.passive("reply", ready_by_reply, roles=EVERYONE)
    def ready(event: Passive, ctx: Context) -> list[Effect]:
        return ctx.services.checkins.answer(event.sender, event.room_id, event.relates_to, ctx.now)
