"""The runtime: one path for everything that happens.

sync batch ─► record command-like events in the store, then advance our sync position (one transaction)
          ─► for each pending event, in order: registry ─► handler ─► effects
          ─► outbox rows + event done (one transaction)
          ─► outbox sender delivers, retrying with the same transaction id until the homeserver accepts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import rosters
from bot import retention
from bot.alarm_service import AlarmService
from bot.config import Config
from bot.crosssign import CrossSigningError, KeyFileError, UserInteractiveAuthRequired
from bot.matrix import Incoming, Matrix, NoTrustedDevice, SendFailed, backoff
from bot.outbox import content_for
from bot.override_store import OverrideStore
from bot.secretbox import SecretBox
from bot.store import Store, StoredEvent
from bot.timers import Timers
from handlers import build_registry
from handlers.i18n import catalog, t
from handlers.registry import Command, Context, Effect, Registry, Reply, Role, SendRoom, SendUser, parse

log = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")

TEXTS = catalog(
    {
        "runtime.too_old": (
            "Ditt kommando !{word} från {time} kom medan jourbot var nere och är äldre än {minutes} minuter, så jag"
            " har inte utfört det. Skicka det igen om det fortfarande gäller.",
            "Your command !{word} from {time} arrived while jourbot was down and is older than {minutes} minutes, so I"
            " have not carried it out. Send it again if it still applies.",
        ),
        "runtime.undecryptable": (
            "{sender}: jag kunde inte läsa ditt meddelande från {time} (krypteringsnyckeln kom aldrig fram)."
            " Skicka det igen; hjälper inte det, verifiera jourbot i din klient.",
            "{sender}: I could not read your message from {time} (its encryption key never reached me)."
            " Please send it again; if that does not help, verify jourbot in your client.",
        ),
        "runtime.no_trusted_device": (
            "⚠️ {name} ({user}) har ingen enhet som hen själv har korssignerat, så jag kan inte skicka sökningar"
            " säkert till hen. Be {name} verifiera sin inloggning i sin Matrix-klient.",
            "⚠️ {name} ({user}) has no device they have cross-signed themselves, so I cannot page them safely."
            " Ask {name} to verify their login in their Matrix client.",
        ),
        "runtime.police_room_unencrypted": (
            "⚠️ Polisrummet {room} är inte krypterat. Jag skickar inga larmuppgifter dit förrän det är krypterat.",
            "⚠️ The police room {room} is not encrypted. I send no alarm details there until it is.",
        ),
        "runtime.error": (
            "Något gick fel när jag skulle utföra !{word}; inget har ändrats. Försök igen eller ring jouren.",
            "Something went wrong carrying out !{word}; nothing was changed. Try again or phone the duty unit.",
        ),
    }
)

ACK_WORDS = {"ok", "ja", "yes", "okej"}


class App:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.lang = config.bot.language
        state = config.state_dir
        self.store = Store(state / "jourbot.db", SecretBox(config.data_key(), "data"), clock)
        self.matrix = Matrix(
            config.matrix.homeserver,
            config.matrix.user_id,
            state,
            config.pickle_key(),
            config.matrix.device_name,
            config.matrix.sync_timeout_s,
            config.matrix.request_timeout_s,
        )
        self.matrix.allowed_inviters = list(config.bot.allowed_inviters)
        self.matrix.trust = config.matrix.trust
        self.matrix.on_recovered = self._homeserver_back
        self.registry: Registry = build_registry()
        self.roster: Any = rosters.load_dir(config.rosters_dir)
        self.timers = Timers(self.fire_deadline)
        self.override_store = OverrideStore(self.store)
        self.alarms = AlarmService(self)
        self.services = self
        self._process_lock = asyncio.Lock()
        self._outbox_wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.restored = False
        self.cross_signing: Any = None

    # --- lifecycle -----------------------------------------------------------------------------------------------
    async def run(self) -> None:
        self.restored = await self.matrix.login(self.config.password())
        if self.config.matrix.cross_signing:
            await self._cross_sign()
        since = self.store.get_meta("sync_token")
        if since is None and self.store.get_meta("first_start_ms") is None:
            self.store.set_meta("first_start_ms", str(int(self.clock() * 1000)))
        self.timers.start()
        rearmed = self.alarms.rearm_all()
        if rearmed:
            log.info("re-armed %d escalation deadlines", rearmed)
        tasks = [
            asyncio.create_task(self.matrix.sync_forever(since, self.on_batch, self.stop), name="sync"),
            asyncio.create_task(self._outbox_loop(), name="outbox"),
            asyncio.create_task(self._undecryptable_loop(), name="undecryptable"),
            asyncio.create_task(self._retention_loop(), name="retention"),
        ]
        try:
            await self.stop.wait()
        finally:
            self.timers.shutdown()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.matrix.close()
            self.store.close()

    async def _cross_sign(self) -> None:
        """Retry while the homeserver is unreachable; a refusal (a wrong password, say) stops the bot."""
        attempt = 0
        while not self.stop.is_set():
            try:
                self.cross_signing = await self.matrix.cross_sign(
                    self.config.password(), self.config.state_dir / "cross-signing.keys", self.config.pickle_key()
                )
                return
            except (UserInteractiveAuthRequired, KeyFileError):
                raise
            except (CrossSigningError, OSError, TimeoutError) as err:
                attempt += 1
                delay = backoff(attempt)
                log.warning("cross-signing not possible yet (%s); retry in %.0f s", err, delay)
                self.matrix.health.homeserver = "unreachable"
                try:
                    await asyncio.wait_for(self.stop.wait(), delay)
                except TimeoutError:
                    pass

    def health(self) -> dict[str, Any]:
        return {**self.matrix.health.as_dict(), "outbox": self.store.outbox_counts()}

    # --- incoming ------------------------------------------------------------------------------------------------
    async def on_batch(self, events: list[Incoming], next_batch: str, first: bool) -> None:
        initial = self.store.get_meta("sync_token") is None
        undecryptable: list[Incoming] = []
        with self.store.transaction():
            if not initial:  # on the very first start, history is not replayed
                for event in events:
                    if self._record(event):
                        if event.kind == "undecryptable":
                            undecryptable.append(event)
            self.store.set_meta("sync_token", next_batch)
        for event in undecryptable:
            await self.matrix.request_key(event.source)
        self.check_police_rooms()
        await self.process_pending()

    def _record(self, event: Incoming) -> bool:
        first_start = int(self.store.get_meta("first_start_ms") or 0)
        if event.origin_ts and event.origin_ts < first_start:
            return False  # from before the bot ever ran, e.g. reached by a gap fetch
        if event.kind == "undecryptable":
            return self.store.record_undecryptable(event.event_id, event.room_id, event.sender, event.source)
        payload: dict[str, Any]
        if event.kind == "reaction":
            kind = "reaction"
            payload = {"reacts_to": event.reacts_to, "key": event.key}
        elif event.body.lstrip().startswith("!"):
            kind = "command"
            payload = {"body": event.body, "reply_to": event.reply_to}
        elif event.reply_to and event.body.strip().lower().rstrip(".!") in ACK_WORDS:
            kind = "reply"
            payload = {"body": event.body.strip(), "reply_to": event.reply_to}
        else:
            return False  # messages that are not commands are ignored, and never stored
        return self.store.record_event(
            event.event_id, event.room_id, event.sender, kind, event.origin_ts, payload
        )

    async def process_pending(self) -> None:
        async with self._process_lock:
            for event in self.store.pending_events():
                await self._handle(event)
        self._outbox_wake.set()

    async def _handle(self, event: StoredEvent) -> None:
        now = self.clock()
        sent_at = datetime.fromtimestamp(event.origin_ts / 1000, UTC)
        if event.kind == "command":
            parsed = parse(event.payload["body"])
            if parsed is None:
                self.store.finish_event(event.event_id, "not-a-command")
                return
            word, args, rest = parsed
            command = Command(
                word, args, rest, event.sender, event.room_id, event.event_id, sent_at, event.payload.get("reply_to")
            )
        else:
            command = self._pseudo_command(event, sent_at)
            if command is None:
                self.store.finish_event(event.event_id, "ignored")
                return
        window = self.config.bot.catchup_window_s
        too_old = now * 1000 - event.origin_ts > window * 1000
        ctx = self._context(command)
        try:
            with self.store.transaction():
                if too_old:
                    effects: list[Effect] = (
                        [Reply(t("runtime.too_old", self.lang, word=command.word, time=_hhmm(sent_at),
                                 minutes=window // 60))]
                        if event.kind == "command"
                        else []
                    )
                    outcome = "too-old"
                else:
                    effects = self.registry.dispatch(command, ctx)
                    outcome = "handled"
                self._enqueue(command, effects)
                self.store.finish_event(event.event_id, outcome)
            log.info("event %s: !%s from %s: %s", event.event_id, command.word, command.sender, outcome)
        except Exception:
            log.exception("handling %s (!%s) failed", event.event_id, command.word)
            with self.store.transaction():
                self._enqueue(command, [Reply(t("runtime.error", self.lang, word=command.word))])
                self.store.finish_event(event.event_id, "error")

    def _pseudo_command(self, event: StoredEvent, sent_at: datetime) -> Command | None:
        """A ✅ reaction or an "ok"/"ja" reply is an acceptance: the same path as !ok, with the page it answers."""
        if event.kind == "reaction":
            if not str(event.payload.get("key", "")).startswith(("✅", "✔", "👍")):
                return None
            target = event.payload.get("reacts_to")
        else:
            target = event.payload.get("reply_to")
        if not target:
            return None
        return Command("ok", (), "", event.sender, event.room_id, event.event_id, sent_at, reply_to=target,
                       implicit=True)

    def roles_of(self, user: str) -> frozenset[Role]:
        roles: set[Role] = set()
        if user in self.config.roles.police:
            roles.add(Role.POLICE)
        if user in self.config.roles.supervisors:
            roles.add(Role.SUPERVISOR)
        if self.roster is not None:
            if user in self.roster.supervisors():
                roles.add(Role.SUPERVISOR)
            if user in self.roster.members():
                roles.add(Role.RESPONDER)
        return frozenset(roles)

    def _context(self, command: Command) -> Context:
        return Context(
            lang=self.lang,
            now=datetime.fromtimestamp(self.clock(), UTC),
            roles=self.roles_of(command.sender),
            room_is_police=command.room_id in self.config.roles.police_rooms,
            room_encrypted=self.matrix.room_encrypted(command.room_id),
            services=self.services,
        )

    def _enqueue(self, command: Command | None, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Reply):
                assert command is not None
                content = content_for(effect.text, effect.notice, reply_to=command.event_id)
                self.store.enqueue("room", command.room_id, content, purpose="reply")
            elif isinstance(effect, SendRoom):
                content = content_for(effect.text, effect.notice, effect.reply_to, mention=effect.mention)
                self.store.enqueue("room", effect.room_id, content, purpose="room")
            elif isinstance(effect, SendUser):
                mention = (effect.user_id,) if effect.mention else ()
                content = content_for(effect.text, effect.notice, mention=mention)
                self.store.enqueue("user", effect.user_id, content, purpose=effect.purpose or "direct")

    def enqueue(self, effects: list[Effect]) -> None:
        """For timers and other work that is not a reply to a command; call inside a transaction."""
        self._enqueue(None, effects)
        self._outbox_wake.set()

    async def _retention_loop(self) -> None:
        while not self.stop.is_set():
            try:
                counts = retention.purge(self.store, self.clock(), self.config.storage.retention_days)
                if any(counts.values()):
                    log.info("retention: purged %s", counts)
            except Exception:
                log.exception("retention purge failed; trying again tomorrow")
            try:
                await asyncio.wait_for(self.stop.wait(), retention.DAY)
            except TimeoutError:
                pass

    # --- undecryptable events ------------------------------------------------------------------------------------
    async def _undecryptable_loop(self) -> None:
        await self.matrix.ready.wait()
        while not self.stop.is_set():
            try:
                await self.retry_undecryptable()
            except Exception:
                log.exception("retrying undecryptable events failed; trying again")
            await asyncio.sleep(1.0)

    async def retry_undecryptable(self) -> None:
        changed = False
        for event_id, room_id, sender, source, first_seen in self.store.waiting_undecryptable():
            incoming = self.matrix.try_decrypt(source)
            if incoming is not None:
                with self.store.transaction():
                    self._record(incoming)
                    self.store.set_undecryptable_status(event_id, "decrypted")
                changed = True
                log.info("event %s decrypted after its key arrived", event_id)
            elif self.clock() - first_seen > self.config.bot.undecryptable_wait_s:
                sent_at = datetime.fromtimestamp(int(source.get("origin_server_ts", 0)) / 1000, UTC)
                text = t("runtime.undecryptable", self.lang, sender=sender, time=_hhmm(sent_at))
                with self.store.transaction():
                    self.enqueue([SendRoom(room_id, text, reply_to=event_id, mention=(sender,))])
                    self.store.set_undecryptable_status(event_id, "told")
                log.warning("event %s from %s could not be decrypted; sender told", event_id, sender)
        if changed:
            await self.process_pending()

    # --- outbox --------------------------------------------------------------------------------------------------
    async def _outbox_loop(self) -> None:
        await self.matrix.ready.wait()
        while not self.stop.is_set():
            self._outbox_wake.clear()
            try:
                await self.flush_outbox()
            except Exception:  # the sender must outlive any one failure: a dead outbox is a lost alarm
                log.exception("outbox round failed; trying again")
                await asyncio.sleep(1)
            next_at = self.store.next_outbox_time()
            wait = 30.0 if next_at is None else max(0.05, min(30.0, next_at - self.clock()))
            try:
                await asyncio.wait_for(self._outbox_wake.wait(), wait)
            except TimeoutError:
                pass

    async def flush_outbox(self) -> None:
        blocked: set[str] = set()  # a target whose earlier message failed: keep its messages in order
        for row in self.store.due_outbox():
            key = f"{row.target_kind}:{row.target}"
            if key in blocked:
                continue
            try:
                if row.target_kind == "room":
                    event_id = await self.matrix.send(row.target, row.content, row.txn_id, row.event_type)
                else:
                    room_id = await self._direct_room(row.target)
                    event_id = await self.matrix.send(
                        room_id, row.content, row.txn_id, row.event_type, must_reach=row.target
                    )
            except NoTrustedDevice as err:
                self._report_untrusted(row.txn_id, err.user_id)
                blocked.add(key)
                self.store.outbox_retry(row.id, self.clock() + backoff(row.attempts + 1, base=5.0, cap=300.0), str(err))
                continue
            except Exception as err:  # whatever went wrong, the message stays queued and is retried
                if not isinstance(err, SendFailed):
                    log.exception("outbox %s: unexpected error", row.txn_id)
                blocked.add(key)
                delay = backoff(row.attempts + 1, base=2.0, cap=60.0)
                self.store.outbox_retry(row.id, self.clock() + delay, str(err))
                log.warning("outbox %s to %s failed (attempt %d), retry in %.0f s: %s",
                            row.txn_id, key, row.attempts + 1, delay, err)
                continue
            with self.store.transaction():
                self.store.outbox_sent(row.id, event_id)
                self.alarms.on_sent(row.purpose, row.target, event_id)

    def _homeserver_back(self) -> None:
        """Messages that waited out an outage go now, not after their backoff: a page must not idle."""
        self.store.retry_all_now()
        self._outbox_wake.set()

    # --- timers --------------------------------------------------------------------------------------------------
    async def fire_deadline(self, alarm_id: str) -> None:
        """An escalation deadline is due: the same path as a command, serialised with them."""
        async with self._process_lock:
            now = datetime.fromtimestamp(self.clock(), UTC)
            with self.store.transaction():
                effects = self.alarms.fire_deadline(alarm_id, now)
                self._enqueue(None, effects)
        self._outbox_wake.set()

    def _report_untrusted(self, txn_id: str, user_id: str) -> None:
        """Tell the supervisors, once per message, that a responder cannot be reached safely."""
        if self.store.get_meta(f"untrusted:{txn_id}"):
            return
        name = self.roster.people.get(user_id, user_id) if self.roster else user_id
        text = t("runtime.no_trusted_device", self.lang, name=name, user=user_id)
        with self.store.transaction():
            self.store.set_meta(f"untrusted:{txn_id}", "1")
            self.enqueue([SendUser(s, text) for s in sorted(self.supervisors()) if s != user_id])
        log.warning("%s has no cross-signed device; supervisors told", user_id)

    def supervisors(self) -> set[str]:
        roster_supervisors = self.roster.supervisors() if self.roster else set()
        return set(roster_supervisors) | set(self.config.roles.supervisors)

    def check_police_rooms(self) -> None:
        """A police room that is not encrypted gets no alarm details; the supervisors are warned once."""
        for room_id in self.config.roles.police_rooms:
            if room_id not in self.matrix.client.rooms or self.matrix.room_encrypted(room_id):
                continue
            if self.store.get_meta(f"unencrypted-warned:{room_id}"):
                continue
            text = t("runtime.police_room_unencrypted", self.lang, room=room_id)
            with self.store.transaction():
                self.store.set_meta(f"unencrypted-warned:{room_id}", "1")
                self.enqueue([SendUser(s, text) for s in sorted(self.supervisors())])
            log.warning("police room %s is not encrypted; supervisors warned", room_id)

    async def _direct_room(self, user_id: str) -> str:
        room_id = self.store.direct_room(user_id)
        if room_id and room_id in self.matrix.client.rooms and self.matrix.room_encrypted(room_id):
            return room_id
        room_id = await self.matrix.create_direct_room(user_id)
        self.store.set_direct_room(user_id, room_id)
        return room_id


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%H:%M")

