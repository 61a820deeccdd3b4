"""The shape of outgoing messages (m.room.message content); the outbox (bot/channels/outbox.py) delivers them."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from typing import Any

from bot.core.effects import Mention
from bot.names import localpart


def content_for(
    text: str, notice: bool = True, reply_to: str | None = None, mentions: Sequence[Mention] = (),
    html_text: str | None = None,
) -> dict[str, Any]:
    """m.room.message content: an m.notice, which clients keep quiet, unless it must ring.

    A message that `mentions` someone is m.text whatever `notice` says: Matrix's default push rules silence every
    m.notice before they look at mentions (`.m.rule.suppress_notices` is the first override rule), so a mention in a
    notice would never ring. The intentional mention (`m.mentions`) is what makes the phone ring; the name at the
    start of the body is for clients that show no mentions, and the pill in `formatted_body` links it to the person.
    """
    content: dict[str, Any] = {"msgtype": "m.notice" if notice and not mentions else "m.text", "body": text}
    if mentions:
        content["m.mentions"] = {"user_ids": list(dict.fromkeys(m.user_id for m in mentions))}
        # A name that is only a Matrix id (someone on no roster, without a display name) is read by its localpart:
        # "@bertil.b:localhost:" at the head of a page reads as nobody.
        names = [localpart(m.name) if m.name.startswith("@") else m.name for m in mentions]
        pills = ", ".join(f'<a href="https://matrix.to/#/{html.escape(m.user_id)}">{html.escape(name)}</a>'
                          for m, name in zip(mentions, names, strict=True))
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = pills + ": " + html.escape(text).replace("\n", "<br>")
        content["body"] = ", ".join(names) + ": " + text
    else:
        content["m.mentions"] = {}
        if html_text is not None:
            # The same message as HTML (a table lines up there); a client that shows no HTML reads `body`.
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = html_text
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
