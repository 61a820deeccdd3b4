"""What to call someone in a message the bot sends: the name people know them by, never a bare Matrix id.

A name comes from the rosters' people; a police officer is seldom there, so next comes the display name the
homeserver shows in the room the message goes to, and last the id's localpart ("polis1", not "@polis1:example.org"),
which at least reads as a name.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.effects import Mention
from rosters import Roster

# (user id, room id or None) → the user's display name as the bot's own sync knows it, or None.
DisplayName = Callable[[str, str | None], str | None]


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


class Names:
    def __init__(self, roster: Callable[[], Roster], display_name: DisplayName | None = None) -> None:
        self.roster = roster
        self.display_name = display_name

    def name(self, user_id: str, room_id: str | None = None) -> str:
        known = self.roster().name(user_id)
        if known:
            return known
        shown = self.display_name(user_id, room_id) if self.display_name is not None else None
        return shown.strip() if shown and shown.strip() else localpart(user_id)

    def mention(self, user_id: str, room_id: str | None = None) -> Mention:
        return Mention(user_id, self.name(user_id, room_id))

    def mentions(self, user_ids: tuple[str, ...] | list[str], room_id: str | None = None) -> tuple[Mention, ...]:
        return tuple(self.mention(u, room_id) for u in dict.fromkeys(user_ids))
