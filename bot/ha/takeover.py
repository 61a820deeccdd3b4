"""What the instance that takes over says: one line to the supervisors, never to the police.

A takeover that lost nothing is nobody's business in a police room (the alarms go on, the deadlines hold); the
supervisors, who answer for the bot, hear which instance acts now and that a message on its way may come twice,
marked. The line is queued in the outbox by the new acting instance, so it is sent as anything else it sends.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.effects import Effect, SendUser
from bot.core.i18n import t
from bot.store import Store


def tell_supervisors(store: Store, queue: Callable[[list[Effect], str], None], supervisors: set[str],
                     instance: str, previous: str, lang: str) -> None:
    text = t("runtime.takeover", lang, instance=instance, previous=previous)
    with store.transaction():
        # One line per takeover: the cause is the epoch, which no other takeover has.
        queue([SendUser(user, text) for user in sorted(supervisors)], f"takeover:{store.acting.epoch}")
