"""The command registry: words and aliases, the roles each command needs, help texts, and passive handlers.

Role checks happen here, once, before any handler runs; a handler never sees a sender it should refuse.
Handlers return effects (messages to deliver); they never send anything themselves.

Passive handlers react to what is not a typed command (a ✅ reaction, a reply "ok" to a page): the runtime asks the
registry which events are worth keeping (`wants_reaction`, `wants_reply`), so it holds no special cases of its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.core.desks import Services
from bot.core.effects import Effect, Reply
from bot.core.i18n import t
from bot.core.roles import Role
from rosters.names import fold

EVERYONE: frozenset[Role] = frozenset()  # no role needed
ANY_ROLE: frozenset[Role] = frozenset(Role)


@dataclass(frozen=True)
class Command:
    word: str  # the word as typed, lower-cased, without "!"
    args: tuple[str, ...]  # the words after it
    rest: str  # everything after the command word, as typed (free text)
    sender: str
    room_id: str
    event_id: str
    sent_at: datetime
    reply_to: str | None = None  # event id this message replies to, if any


PassiveKind = Literal["reaction", "reply", "edit", "redaction"]


@dataclass(frozen=True)
class Passive:
    """Something that is not a typed command but may still mean one: a reaction or a reply to an event, an edit of
    a message (`text` is the new text), a redaction of one (`text` is empty)."""

    kind: PassiveKind
    text: str  # the reaction key, or the reply's text
    relates_to: str  # the event reacted or replied to
    sender: str
    room_id: str
    event_id: str
    sent_at: datetime


@dataclass
class Context:
    """What a handler may know about the sender and the world."""

    lang: str
    now: datetime
    roles: frozenset[Role]
    room_is_police: bool
    room_encrypted: bool
    services: Services


Handler = Callable[[Command, Context], list[Effect]]
PassiveHandler = Callable[[Passive, Context], list[Effect]]


@dataclass(frozen=True)
class Spec:
    name: str  # canonical (Swedish) word
    aliases: tuple[str, ...]
    roles: frozenset[Role]  # any one of these suffices; empty: everyone
    usage_key: str  # i18n key of the one-line usage/help text
    handler: Handler
    police_room_only: bool = False
    limited: bool = True  # counts toward the per-sender limit; alarm commands never do


@dataclass(frozen=True)
class PassiveSpec:
    kind: PassiveKind
    matches: Callable[[str], bool]  # on the reaction key or the reply's text, before anything is stored
    roles: frozenset[Role]
    handler: PassiveHandler


@dataclass
class Registry:
    specs: list[Spec] = field(default_factory=list)
    passives: list[PassiveSpec] = field(default_factory=list)
    _by_word: dict[str, Spec] = field(default_factory=dict)

    def add(self, spec: Spec) -> None:
        for word in (spec.name, *spec.aliases):
            key = fold(word)
            if key in self._by_word:
                raise ValueError(f"command word {word!r} registered twice")
            self._by_word[key] = spec
        self.specs.append(spec)

    def command(
        self,
        name: str,
        *aliases: str,
        roles: frozenset[Role] = EVERYONE,
        usage: str,
        police_room_only: bool = False,
        limited: bool = True,
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.add(Spec(name, aliases, roles, usage, handler, police_room_only, limited))
            return handler

        return decorate

    def passive(
        self, kind: PassiveKind, matches: Callable[[str], bool], roles: frozenset[Role] = EVERYONE
    ) -> Callable[[PassiveHandler], PassiveHandler]:
        def decorate(handler: PassiveHandler) -> PassiveHandler:
            self.passives.append(PassiveSpec(kind, matches, roles, handler))
            return handler

        return decorate

    def find(self, word: str) -> Spec | None:
        return self._by_word.get(fold(word))

    def allowed(self, spec: Spec | PassiveSpec, roles: frozenset[Role]) -> bool:
        return not spec.roles or bool(spec.roles & roles)

    def visible_to(self, roles: frozenset[Role]) -> list[Spec]:
        return [s for s in self.specs if self.allowed(s, roles)]

    def wants_reaction(self, key: str) -> bool:
        return any(p.kind == "reaction" and p.matches(key) for p in self.passives)

    def wants_reply(self, text: str) -> bool:
        return any(p.kind == "reply" and p.matches(text) for p in self.passives)

    def dispatch(self, command: Command, ctx: Context) -> list[Effect]:
        spec = self.find(command.word)
        if spec is None:
            return [Reply(t("registry.unknown", ctx.lang, word=command.word), refusal=True)]
        if not self.allowed(spec, ctx.roles):
            return [Reply(t("registry.refused", ctx.lang, word=command.word), refusal=True)]
        if spec.police_room_only and not ctx.room_is_police:
            return [Reply(t("registry.police_room_only", ctx.lang, word=command.word), refusal=True)]
        return spec.handler(command, ctx)

    def dispatch_passive(self, event: Passive, ctx: Context) -> list[Effect]:
        """Every matching passive handler the sender may use; a stranger's ✅ is no one's business, so no refusal."""
        out: list[Effect] = []
        for spec in self.passives:
            if spec.kind == event.kind and spec.matches(event.text) and self.allowed(spec, ctx.roles):
                out.extend(spec.handler(event, ctx))
        return out


_COMMAND = re.compile(r"\A\s*!(\S+)(?:\s+(.*))?\Z", re.DOTALL)


def is_command(body: str) -> bool:
    """Whether a message is meant as a command: its first visible character is "!" (also a full-width "！")."""
    stripped = body.lstrip()
    return bool(stripped) and unicodedata.normalize("NFKC", stripped[0]) == "!"


def parse(body: str) -> tuple[str, tuple[str, ...], str] | None:
    """'!larm Farsta två barn' → ('larm', ('Farsta', 'två', 'barn'), 'Farsta två barn'); None if not a command.

    Any white space separates words — a tab, a no-break space, a line break, as phones and keyboards type them — and
    the command word is read in its compatibility form (NFKC: a full-width "！ｌａｒｍ" is "!larm"). Words are split on
    white space only, and the rest keeps the sender's text as typed: free text may hold quotes and apostrophes.
    """
    if not is_command(body):
        return None
    stripped = body.lstrip()
    text = "!" + stripped[1:]
    match = _COMMAND.match(text)
    if match is None:
        return None
    head = unicodedata.normalize("NFKC", match.group(1)).casefold()
    rest = (match.group(2) or "").strip()
    return head, tuple(rest.split()), rest
