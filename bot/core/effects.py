"""What handlers ask the runtime to send. Handlers never send: they return these, the runtime stores them in the
same transaction as the change they announce, and delivers them after the commit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mention:
    """Someone who must hear a message at once. A message that mentions anyone is sent as m.text with them in
    `m.mentions`, so the default push rules make their phone ring, and starts with their `name` for clients that
    show no mentions. `name` is what people call them (the rosters' name, else their display name), never the id."""

    user_id: str
    name: str


@dataclass(frozen=True)
class Reply:
    """A message into the room the command came from, as a reply to it. `alarm`: it is about that alarm (sent
    before ordinary traffic). `refusal`: it says no, or that something failed; in a police room the runtime adds whom
    to call and the number (the unit on call now for `area`, if known)."""

    text: str
    notice: bool = True
    alarm: str | None = None
    refusal: bool = False
    area: str | None = None
    html: str | None = None  # the same as HTML (a table that lines up), sent beside `text` as formatted_body


@dataclass(frozen=True)
class SendRoom:
    """A message in a room: an m.notice, which clients keep quiet, unless it `mentions` someone (then m.text)."""

    room_id: str
    text: str
    reply_to: str | None = None
    mentions: tuple[Mention, ...] = ()
    alarm: str | None = None


@dataclass(frozen=True)
class SendUser:
    """A message in the encrypted direct room with `user_id` (created on first use): an m.notice unless it
    `mentions` someone (then m.text; in a direct room that is its reader)."""

    user_id: str
    text: str
    mentions: tuple[Mention, ...] = ()
    alarm: str | None = None


@dataclass(frozen=True)
class PageUser:
    """A page: an m.text (an m.notice does not ping) that mentions `user_id` by `name`, sent before everything
    else. When it is delivered, or cannot be, the alarm is told (step `step`). A `reminder` repeats a page its
    reader has not answered: it rings again and a ✅ on it accepts, but the alarm's wait does not start again."""

    user_id: str
    name: str
    text: str
    alarm: str
    step: int
    shortened: bool = False  # the police's text did not fit whole; the acceptor gets the rest
    reminder: bool = False

    @property
    def mention(self) -> Mention:
        return Mention(self.user_id, self.name)


Effect = Reply | SendRoom | SendUser | PageUser
