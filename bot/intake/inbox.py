"""From a sync batch to handled commands: one path for everything that comes in.

batch ─► the command-like events (a command, a reaction or reply a passive handler wants, an undecryptable event)
         are recorded with our sync position, in one transaction
      ─► each pending event, oldest first: registry ─► handler ─► effects ─► outbox rows, and the event marked done,
         all in one transaction (a savepoint per event, so one failing handler spoils nothing else)
      ─► after the commit the outbox is woken and the timers re-armed (bot/store/db.py).

A batch with nothing command-like writes nothing: its sync position is kept in memory and written with the next
recorded event, or within a minute. That is safe because replaying such a batch has no effect, and a batch with
events is always recorded together with the position after it (docs/design.md, "Durability").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.channels.outbox import Origin, Outbox
from bot.core.effects import Effect, Reply
from bot.core.i18n import duration, t
from bot.intake.limits import SenderLimits, Verdict
from bot.matrix.port import Batch, Incoming, MatrixPort
from bot.services import RuntimeServices
from bot.store import Head, Store, StoredEvent
from bot.trust.senders import Origin as SenderOrigin
from bot.trust.senders import SenderTrust
from bot.trust.senders import Verdict as TrustVerdict
from handlers.registry import Command, Context, Passive, PassiveKind, Registry, is_command, parse
from rosters.phones import spoken_phone
from rosters.wallclock import hhmm

log = logging.getLogger(__name__)

SAVE_POSITION_EVERY_S = 60.0
PASSIVE_KINDS: dict[str, PassiveKind] = {"reaction": "reaction", "reply": "reply", "edit": "edit",
                                         "redaction": "redaction"}
# Events handled per transaction. Small enough that the first pages of a burst leave while the rest is handled.
BATCH_LIMIT = 20


@dataclass(frozen=True)
class InboxSettings:
    lang: str
    catchup_window_s: int
    police_rooms: frozenset[str]


class Inbox:
    def __init__(self, store: Store, registry: Registry, services: RuntimeServices, outbox: Outbox,
                 matrix: MatrixPort, settings: InboxSettings, clock: Callable[[], float],
                 zone: Callable[[], tzinfo], limits: SenderLimits, trust: SenderTrust) -> None:
        self.limits = limits
        self.trust = trust
        self.store = store
        self.registry = registry
        self.services = services
        self.outbox = outbox
        self.matrix = matrix
        self.settings = settings
        self.clock = clock
        self.zone = zone
        self._unsaved: tuple[str, Mapping[str, Head]] | None = None
        self._saved_at = clock()
        self._first_start = True  # the bot's first start ever, unless `begin` finds it ran before

    def begin(self) -> None:
        """On the very first start nothing from before is replayed: remember when that was. An instance without a
        position of its own (one of several sharing the database, bot/ha/) starts after the bot's first start: what
        it synced is recorded, and whatever another instance recorded before is not recorded twice."""
        if self.store.sync.token() is None:
            with self.store.transaction():
                self._first_start = self.store.meta.set_once("first_start_ms", str(int(self.clock() * 1000)))

    # --- recording -------------------------------------------------------------------------------------------------
    def on_batch(self, batch: Batch) -> list[Incoming]:
        """Record what matters of a batch; returns the undecryptable events just recorded (their keys are due)."""
        if self._first_start and self._unsaved is None and self.store.sync.token() is None:
            with self.store.transaction():  # the first start ever: history is not replayed
                self.store.sync.save(batch.next_batch, batch.heads)
            self._saved_at = self.clock()
            return []
        wanted = [e for e in batch.events if self._wanted(e)]
        if not wanted and self.clock() - self._saved_at < SAVE_POSITION_EVERY_S:
            self._unsaved = (batch.next_batch, batch.heads)
            return []
        undecryptable: list[Incoming] = []
        with self.store.transaction():
            for event in wanted:
                if self.record(event) and event.kind == "undecryptable":
                    undecryptable.append(event)
            self.store.sync.save(batch.next_batch, batch.heads)
        self._unsaved = None
        self._saved_at = self.clock()
        return undecryptable

    def flush_position(self) -> None:
        """Write a sync position kept in memory (periodically, and when the bot stops)."""
        if self._unsaved is None:
            return
        token, heads = self._unsaved
        with self.store.transaction():
            self.store.sync.save(token, heads)
        self._unsaved = None
        self._saved_at = self.clock()

    def _wanted(self, event: Incoming) -> bool:
        if event.kind == "undecryptable":
            return True
        if event.kind == "reaction":
            return self.registry.wants_reaction(event.key)
        if event.kind == "redaction":
            return event.redacts is not None and self.store.events.seen(event.redacts)
        if event.replaces is not None:  # an edit: of a command, or turning something into one
            return is_command(event.body) or self.store.events.seen(event.replaces)
        return is_command(event.body) or (event.reply_to is not None and self.registry.wants_reply(event.body))

    def record(self, event: Incoming) -> bool:
        """Store one event for handling (inside a transaction); False if seen before or not for us."""
        first_start = int(self.store.meta.get("first_start_ms") or 0)
        if event.origin_ts and event.origin_ts < first_start:
            return False  # from before the bot ever ran, e.g. reached by a gap fetch
        if event.kind == "undecryptable":
            return self.store.events.record_undecryptable(event.event_id, event.room_id, event.sender, event.source)
        payload: dict[str, Any]
        if event.kind == "reaction":
            kind = "reaction"
            payload = {"relates_to": event.reacts_to, "text": event.key}
        elif event.kind == "redaction":
            kind = "redaction"
            payload = {"relates_to": event.redacts, "text": ""}
        elif event.replaces is not None:
            kind = "edit"
            payload = {"relates_to": event.replaces, "text": event.body}
        elif is_command(event.body):
            kind = "command"
            payload = {"body": event.body, "reply_to": event.reply_to}
        elif event.reply_to is not None and self.registry.wants_reply(event.body):
            kind = "reply"
            payload = {"relates_to": event.reply_to, "text": event.body.strip()}
        else:
            return False  # messages that are not commands are ignored, and never stored
        device = event.sender_device
        origin = SenderOrigin(decrypted=False) if device is None else SenderOrigin(
            True, device.device_id, device.known, device.cross_signed, device.master_key)
        payload["origin"] = origin.as_dict()
        return self.store.events.record(event.event_id, event.room_id, event.sender, kind, event.origin_ts, payload)

    # --- handling --------------------------------------------------------------------------------------------------
    async def process_pending(self) -> int:
        """Handle every recorded event not yet handled; returns how many. Yields between transactions, so the
        outbox sends what one has committed while the next is handled."""
        handled = 0
        while True:
            events = self.store.events.pending(BATCH_LIMIT)
            if not events:
                return handled
            with self.store.transaction():
                for event in events:
                    self._handle(event)
            handled += len(events)
            await asyncio.sleep(0)

    def _handle(self, event: StoredEvent) -> None:
        try:
            with self.store.transaction():
                self._dispatch(event)
        except Exception:
            parsed = parse(str(event.payload.get("body", ""))) if event.kind == "command" else None
            word = parsed[0] if parsed else "ok"
            log.exception("handling %s failed", event.event_id)
            with self.store.transaction():
                reply = self._with_contact(event, [Reply(t("runtime.error", self.settings.lang, word=word),
                                                         refusal=True)])[0]
                self.outbox.queue([reply], Origin(event.event_id, event.room_id, event.event_id))
                self.store.events.finish(event.event_id, "error")

    def _dispatch(self, event: StoredEvent) -> None:
        """Handle one event inside the caller's savepoint."""
        judged = self.trust.verdict(event.kind, event.sender, event.room_id,
                                    SenderOrigin.from_dict(event.payload.get("origin")))
        if judged is not TrustVerdict.ACT:
            # Refused before anything reads it: no handler, no limit, no stored effect but the notice.
            name = self.services.name_of(event.sender, event.room_id)
            notice = self.trust.answer(judged, event.room_id, event.sender, name)
            self.outbox.queue(self._with_contact(event, notice), Origin(event.event_id, event.room_id, event.event_id))
            self.store.events.finish(event.event_id, f"refused:{judged.value}")
            log.info("event %s from %s refused: %s", event.event_id, event.sender, judged.value)
            return
        now = self.clock()
        sent_at = datetime.fromtimestamp(event.origin_ts / 1000, UTC)
        window = self.settings.catchup_window_s
        too_old = now * 1000 - event.origin_ts > window * 1000
        origin = Origin(event.event_id, event.room_id, event.event_id)
        payload = event.payload
        effects: Sequence[Effect] = []
        shown = event.kind
        outcome = "ignored"
        if event.kind == "command":
            body, reply_to, thread = str(payload.get("body", "")), payload.get("reply_to"), event.event_id
        elif event.kind == "edit":
            # An edit may be claimed by a passive handler (an edit of a message that raised an alarm is answered,
            # never carried out); otherwise an edit that reads as a command is carried out as the corrected command,
            # answered on the message it corrects.
            passive = self._passive(event, sent_at)
            effects = [] if too_old else self.registry.dispatch_passive(passive, self._context(event))
            body, reply_to, thread = ("" if effects else passive.text), None, passive.relates_to
            origin = Origin(event.event_id, event.room_id, thread)
            outcome = "handled" if effects else outcome
        else:
            passive = self._passive(event, sent_at)
            effects = [] if too_old else self.registry.dispatch_passive(passive, self._context(event))
            body, reply_to, thread = "", None, event.event_id
            outcome = "too-old" if too_old else ("handled" if effects else "ignored")
        parsed = parse(body) if body else None
        if parsed is not None:
            word, args, rest = parsed
            spec = self.registry.find(word)
            shown = spec.name if spec else "?"  # an unrecognised word is never logged: it may be free text
            ctx = self._context(event)
            verdict = self.limits.judge(event.sender, bool(ctx.roles)) if (
                not ctx.roles or spec is None or spec.limited) else Verdict.ANSWER
            if verdict is Verdict.SILENT:
                effects, outcome = [], "limited"
            elif verdict is Verdict.NOTICE:
                effects, outcome = [Reply(t("runtime.slow_down", self.settings.lang), refusal=True)], "limited"
            elif too_old:
                effects = [Reply(t("runtime.too_old", self.settings.lang, word=word, time=hhmm(sent_at, self.zone()),
                                   limit=duration(window, self.settings.lang)), refusal=True)]
                outcome = "too-old"
            else:
                command = Command(word, args, rest, event.sender, event.room_id, thread, sent_at, reply_to)
                effects = self.registry.dispatch(command, ctx)
                outcome = "handled"
        elif event.kind == "command":
            outcome = "not-a-command"
        self.outbox.queue(self._with_contact(event, effects), origin)
        self.store.events.finish(event.event_id, outcome)
        log.info("event %s: %s from %s: %s", event.event_id, shown, event.sender, outcome)

    def _with_contact(self, event: StoredEvent, effects: Sequence[Effect]) -> list[Effect]:
        """In a police room, a refusal or failure ends with whom to call and the number: never a dead end."""
        out: list[Effect] = []
        for effect in effects:
            if isinstance(effect, Reply) and effect.refusal:
                call = self.call_line(event.room_id, effect.area)
                if call:
                    effect = replace(effect, text=f"{effect.text}\n{call}")
            out.append(effect)
        return out

    def call_line(self, room_id: str, area: str | None = None) -> str | None:
        """"Ring … direkt: number." for a police room; None elsewhere."""
        if room_id not in self.settings.police_rooms:
            return None
        name, phone = self.services.contact(area, datetime.fromtimestamp(self.clock(), UTC))
        return t("runtime.call", self.settings.lang, unit=name, phone=spoken_phone(phone))

    @staticmethod
    def _passive(event: StoredEvent, sent_at: datetime) -> Passive:
        payload = event.payload
        kind = PASSIVE_KINDS[event.kind]
        text = payload.get("text", "")
        relates_to = payload.get("relates_to", "")
        return Passive(kind, str(text), str(relates_to or ""), event.sender, event.room_id, event.event_id, sent_at)

    def _context(self, event: StoredEvent) -> Context:
        return Context(
            lang=self.settings.lang,
            now=datetime.fromtimestamp(self.clock(), UTC),
            roles=self.services.roles_of(event.sender),
            room_is_police=event.room_id in self.settings.police_rooms,
            room_encrypted=self.matrix.room_encrypted(event.room_id),
            services=self.services,
        )
