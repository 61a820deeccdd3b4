"""What a message says, read the way Matrix clients send it.

- An edit (`m.relates_to.rel_type = m.replace`) carries its new text in `m.new_content`; its `body` is a fallback for
  clients without edits (Element prefixes it with "* ", others do not), so it is never read.
- A reply may still carry the quoted fallback of the message it answers (lines starting with "> " and a blank line)
  before its own text; many clients send it. It is stripped, or "ok" under a quote would not read as "ok".
- Only `body` is read, never `formatted_body` alone: the HTML is a rendering of the same text, and acting on
  what a plain-text client cannot see would be acting on something the sender may not have meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reading:
    body: str
    reply_to: str | None  # the event this message replies to
    replaces: str | None  # the event this message edits


def read_message(content: Mapping[str, Any]) -> Reading:
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, Mapping) else {}
    new_content = content.get("m.new_content")
    if relates.get("rel_type") == "m.replace" and isinstance(new_content, Mapping):
        replaces = relates.get("event_id")
        body = new_content.get("body")
        # The reply relation, if any, stays on the original event; the new content is the text alone.
        return Reading(strip_reply_fallback(str(body)) if isinstance(body, str) else "", None,
                       str(replaces) if isinstance(replaces, str) else None)
    in_reply_to = relates.get("m.in_reply_to")
    reply_to = in_reply_to.get("event_id") if isinstance(in_reply_to, Mapping) else None
    body = content.get("body")
    text = body if isinstance(body, str) else ""
    if reply_to:
        text = strip_reply_fallback(text)
    return Reading(text, str(reply_to) if isinstance(reply_to, str) else None, None)


def strip_reply_fallback(body: str) -> str:
    """Drop a leading quoted fallback ("> …" lines, then one blank line) from a reply's text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and not lines[index].strip():
        index += 1
    return "\n".join(lines[index:])
