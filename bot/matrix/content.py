"""The shape of outgoing messages (m.room.message content); the outbox (bot/outbox.py) delivers them."""

from __future__ import annotations

import html
from typing import Any


def content_for(
    text: str, notice: bool = True, reply_to: str | None = None, mention: tuple[str, ...] = ()
) -> dict[str, Any]:
    """m.room.message content. A page is m.text (an m.notice does not ping) and mentions its reader so phones notify."""
    content: dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": text}
    if mention:
        # Intentional mentions (m.mentions) are what today's clients notify on; the pill is for older ones.
        content["m.mentions"] = {"user_ids": list(mention)}
        pills = " ".join(f'<a href="https://matrix.to/#/{html.escape(u)}">{html.escape(u)}</a>' for u in mention)
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = pills + ": " + html.escape(text).replace("\n", "<br>")
        content["body"] = " ".join(mention) + ": " + text
    else:
        content["m.mentions"] = {}
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content
