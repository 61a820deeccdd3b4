"""The shape of outgoing messages (m.room.message content); the outbox (bot/outbox.py) delivers them."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
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


# What a message's content may weigh, as JSON with every non-ASCII character escaped (how nio serialises it before
# encrypting). Synapse refuses events over 64 KiB; encryption adds a third (base64) and the event its envelope,
# signatures and hashes, so this leaves room to spare. Everything the bot sends is made to fit it.
MAX_CONTENT_BYTES = 32_000


def content_size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=True, separators=(",", ":")))


def longest_fitting(text: str, render: Callable[[str], dict[str, Any]], limit: int = MAX_CONTENT_BYTES) -> int:
    """How many leading characters of `text` fit when `render` wraps them into a message (len(text) if all do)."""
    if content_size(render(text)) <= limit:
        return len(text)
    low, high = 0, len(text)  # render(text[:low]) fits; render(text[:high]) does not
    while high - low > 1:
        middle = (low + high) // 2
        if content_size(render(text[:middle])) <= limit:
            low = middle
        else:
            high = middle
    return low


def chunks_that_fit(text: str, render: Callable[[str], dict[str, Any]], limit: int = MAX_CONTENT_BYTES) -> list[str]:
    """`text` cut into pieces each of which fits `render`, at line or word breaks where one lies near the cut."""
    pieces: list[str] = []
    rest = text
    while rest:
        cut = longest_fitting(rest, render, limit)
        if cut == 0:
            raise ValueError("not even one character fits the message")
        if cut < len(rest):
            pause = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
            if pause > cut // 2:
                cut = pause + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return pieces
