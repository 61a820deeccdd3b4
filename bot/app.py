"""Wiring and lifecycle. What happens to an event is bot/intake/inbox.py's; to a message, bot/channels/outbox.py's; to a
deadline, bot/timers.py's and the alarm service's (bot/alarm/service.py). The store (bot/store/) is the single source of
truth.

sync batch ─► inbox: record, handle, effects ─► one transaction: state + audit + deadlines + outbox rows
          ─► after commit: timers re-armed from the store, outbox woken ─► outbox: sends, and reports deliveries and
             failures back to the alarm service, through the same transaction path
deadline due (timer, or the sweep of the store) ─► alarm service ─► the same path
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.alarm.evaluation_service import EvaluationService
from bot.alarm.phases import PhaseService
from bot.alarm.police_rooms import PoliceRoomWatch
from bot.alarm.rooms import AlarmRoomKeeper
from bot.alarm.service import AlarmService, AlarmSettings
from bot.channels.channel import HOMESERVER, Channel, DeliveryListener
from bot.channels.matrix import MatrixChannel
from bot.channels.outbox import Origin, Outbox, OutboxSettings
from bot.channels.seen import SeenPages
from bot.channels.sender import Sender
from bot.channels.sms.channel import TARGET as SMS
from bot.channels.sms.channel import ChannelSettings, SmsChannel
from bot.channels.sms.gateway import GatewaySettings, SmsGateway
from bot.config import Config
from bot.core.effects import Effect
from bot.duty import live as roster_live
from bot.duty.leave import StoredLeave
from bot.duty.live import Candidate
from bot.duty.reload import RosterReloader
from bot.ha.gate import StandbyGate
from bot.ha.recent import RecentBatches
from bot.ha.repeats import RepeatMarks
from bot.ha.role import LostActing, Role
from bot.ha.takeover import tell_supervisors
from bot.handover.service import HandoverService, HandoverSettings
from bot.intake.inbox import Inbox, InboxSettings
from bot.intake.limits import LimitSettings, SenderLimits
from bot.intake.undecryptable import Undecryptable
from bot.matrix.client import MatrixClient, MatrixSettings
from bot.matrix.crosssign import CrossSigningError, IdentityRefused, KeyFileError, UserInteractiveAuthRequired
from bot.matrix.port import Batch, MatrixPort, backoff
from bot.names import Names
from bot.readiness.assess import on_rosters
from bot.readiness.checkins import CheckinService, CheckinSettings, DeliveryListeners
from bot.readiness.report import ReadinessReporter
from bot.services import RuntimeServices, StoredOverrides
from bot.store import Store
from bot.store.db import Topic
from bot.store.secretbox import SecretBox
from bot.timers import Timers
from bot.trust.first_contact import FirstContact
from bot.trust.first_contact import Settings as FirstContactSettings
from bot.trust.identities import IdentityPins
from bot.trust.rooms import AlarmPeople, RoomGuard
from bot.trust.senders import SenderTrust
from bot.watch.figures import DutyFigures
from bot.watch.health import HealthLimits, HealthReport, Monitoring
from bot.watch.metrics import Metrics
from bot.watch.outage import OutageNotice
from bot.watch.service_manager import notify, watchdog_every_s
from bot.watch.trail import TrailAnchor
from bot.web.auth import AuthSettings, WebAuth
from bot.web.readinessview import ReadinessPage
from bot.web.server import WebSettings, WebView
from handlers import build_registry
from handlers.alarm import AlarmLimits
from rosters import Roster

log = logging.getLogger(__name__)

DAY = 86400.0
HEARTBEAT_S = 1.0  # how often the loop's lag is measured (and, under systemd, the watchdog may be petted)


class App:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time, matrix: MatrixPort | None = None,
                 timer_interval: float = 1.0) -> None:
        self.config = config
        self.clock = clock
        lang = config.bot.language
        self.store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"), clock,
                           database=config.storage.database)
        # The audit trail against its head, read before this start appends anything (bot/watch/trail.py).
        self.trail = TrailAnchor(self.store, self._queue, lambda: self.services.supervisors(), lang, clock)
        self.matrix: MatrixPort = matrix or MatrixClient(MatrixSettings(
            homeserver=config.matrix.homeserver,
            user_id=config.matrix.user_id,
            state_dir=config.state_dir,
            pickle_key=config.pickle_key(),
            device_name=config.matrix.device_name,
            sync_timeout_s=config.matrix.sync_timeout_s,
            request_timeout_s=config.matrix.request_timeout_s,
            trust=config.matrix.trust,
            allowed_inviters=tuple(config.bot.allowed_inviters),
        ), self.store.own_identity)
        started = roster_live.start(config.rosters_dir, self.store.roster_snapshots.last(), clock())
        self.leave = StoredLeave(self.store)  # leave made in the browser, merged into the roster in force
        self.metrics = Metrics()
        # What messages call people: the rosters' names, else the display names the bot's sync knows.
        self.names = Names(lambda: self.roster, self.matrix.display_name)
        self.alarms = AlarmService(self.store, lambda: self.roster, AlarmSettings(
            lang=lang,
            delivery_s=config.alarms.page_delivery_s,
            step_wait_override_s=config.alarms.step_wait_override_s,
            extra_supervisors=tuple(config.roles.supervisors),
            unit_rooms={unit: room.room for unit, room in config.units.items()},
            repeat_share=config.alarms.repeat_page_at,
            no_repeat_units=frozenset(unit for unit, room in config.units.items() if not room.repeat_page),
        ), self.metrics, names=self.names)
        # Trust (bot/trust/): identities pinned on first sight, and the rooms the bot owns kept for their people alone.
        self.identities = IdentityPins(self.store, lambda: self.services.supervisors(), self._name_of,
                                       self._queue, clock, lang, config.matrix.user_id)
        # Where instances share the database only the acting one acts (bot/ha/); on SQLite this one acts from the start.
        self.role = Role(self.store.acting, config.storage.acting_silent_after_s, self.metrics)
        self.recent = RecentBatches(clock, config.bot.catchup_window_s + 60.0)  # what a standby synced, for a takeover
        self.matrix.set_identity_gate(StandbyGate(self.identities, lambda: self.role.acting) if self.role.shared
                                      else self.identities)
        self.guard = RoomGuard(self.store, self.matrix, self._queue, lambda: self.services.supervisors(),
                               self._name_of, self._alarm_people, clock, lang, config.matrix.user_id)
        # Queueing needs only the store, so every part is made with it; the sender, which needs them, comes last.
        self.outbox = Outbox(self.store, clock, OutboxSettings(page_delivery_s=config.alarms.page_delivery_s))
        self.alarm_rooms = AlarmRoomKeeper(self.store, self.matrix, self.alarms.get, clock, lang,
                                           self.guard.audience_of, self._queue)
        self.alarms.followers.append(self.alarm_rooms.follow)
        self.handovers = HandoverService(self.store, lambda: self.roster, HandoverSettings(
            lang=lang, unit_rooms={unit: room.room for unit, room in config.units.items()},
            remind_after_s=config.handover.remind_after_s, duty_after_s=config.handover.duty_after_s,
            extra_supervisors=tuple(config.roles.supervisors)), phases=self.store.phases.of, names=self.names)
        self.evaluation = EvaluationService(self.store, lambda: self.roster)
        self.registry = build_registry(AlarmLimits(config.alarms.rate_limit_count, config.alarms.rate_limit_window_s,
                                                   config.alarms.repeat_window_s))
        # Seen pages sit between the outbox and the alarm service; the SMS channel, with [sms] on, beside them.
        sms = config.sms
        self.seen = SeenPages(self.store, self.alarms, sms.unseen_after_s if sms.enabled else None)
        self.sms: SmsChannel | None = None
        if sms.enabled:
            username, password = config.sms_credentials()
            self.sms = SmsChannel(
                self.store, self.alarms, self.outbox,
                SmsGateway(GatewaySettings(sms.url, sms.sender, username, password, sms.timeout_s)),
                lambda user: self.roster.phone(user), clock, ChannelSettings(lang), self.metrics)
            self.alarms.followers.append(self.sms.follow)
        self.outage = OutageNotice(self.store, self.outbox, config.roles.police_rooms, lang, clock, self.zone,
                                   config.monitoring.outage_notice_after_s)
        # Shift check-ins (README, "Readiness"): asked and reported from the sweep, answered through the services.
        self.checkins = CheckinService(self.store, lambda: self.roster, config.checkin, CheckinSettings(
            lang, config.matrix.user_id, tuple(config.roles.supervisors)), self.outbox, clock, names=self.names)
        # Every channel under the target kind of its rows, one send loop for all (bot/channels/channel.py).
        matrix_channel = MatrixChannel(self.matrix, self.guard)
        channels: dict[str, Channel] = {"user": matrix_channel, "room": matrix_channel, "alarm": self.alarm_rooms}
        listeners: list[DeliveryListener] = [self.seen, self.checkins]
        if self.sms is not None:
            channels[SMS] = self.sms
            listeners.append(self.sms)  # after the alarm service's: it reads the alarm a failed page left
        self.sender = Sender(self.outbox, channels, DeliveryListeners(*listeners), self.matrix.ready, self.metrics,
                             self.matrix.handed_out)
        if self.role.shared:
            self.sender.claim = RepeatMarks(self.store, lang, self.metrics, lambda: self.role.acting).claim
            self.store.db.when_fenced = self.role.lose
        # What /healthz and the metrics call undelivered: the homeserver's (an SMS that fails is told in chat).
        self.homeserver_kinds = self.sender.kinds(HOMESERVER)
        self.readiness = ReadinessReporter(self.store, lambda: self.roster, config, self.outbox)
        # The browser view (bot/web/): the login links !webb hands out, and its own HTTP server.
        self.web_auth = WebAuth(self.store, clock, AuthSettings(
            config.web.base_url, config.web.link_ttl_s, config.web.session_ttl_s, config.web.idle_timeout_s,
            config.web.feed_days)) if config.web.enabled else None
        self.services = RuntimeServices(lambda: self.roster, self.alarms, StoredOverrides(self.store),
                                        config.roles.police, config.roles.supervisors,
                                        PhaseService(self.store, lambda: self.roster, self.alarms.get,
                                                     self.alarm_rooms, lang),
                                        handovers=self.handovers, evaluation=self.evaluation, trust=self.identities,
                                        checkins=self.checkins, web=self.web_auth, names=self.names)
        self.inbox = Inbox(self.store, self.registry, self.services, self.outbox, self.matrix,
                           InboxSettings(lang, config.bot.catchup_window_s, frozenset(config.roles.police_rooms)),
                           clock, self.zone, SenderLimits(LimitSettings(
                               config.bot.command_rate_count, config.bot.command_rate_window_s,
                               config.bot.stranger_quiet_s), clock),
                           SenderTrust(config.matrix.trust, self.identities, self.matrix.room_encrypted,
                                       self.matrix.room_known, self.guard.audience_of, clock, lang))
        self.undecryptable = Undecryptable(self.store, self.matrix, self.inbox, self.outbox, clock,
                                           config.bot.undecryptable_wait_s, lang, self.zone, self.inbox.call_line,
                                           names=self.names)
        self.police_rooms = PoliceRoomWatch(self.store, self.matrix, self.outbox, config.roles.police_rooms,
                                            self.services.supervisors, lang)
        self.rosters = RosterReloader(config.rosters_dir, started, self.store, self.outbox, clock,
                                      self.services.supervisors, self.services.overrides.active, lang, self.zone,
                                      self.leave.active)
        self.timers = Timers(self._next_due, self.sweep, clock, timer_interval)
        # Everyone on the rosters meets the bot before any page: their direct room opened ahead of time, the welcome
        # (or their waiting pages again) at their first join (bot/trust/first_contact.py).
        self.first_contact = FirstContact(
            self.store, self.guard, self._queue, self._roster_people, lambda: self.sender.urgent_waiting(HOMESERVER),
            self.alarms.remind_joined, self.timers.rearm_soon, clock,
            FirstContactSettings(config.bot.first_contact, config.bot.first_contact_every_s, lang,
                                 config.matrix.user_id))
        self.rosters.on_reloaded.append(self.first_contact.roster_changed)
        self.store.db.on_commit(Topic.DEADLINES, self.timers.rearm_soon)
        self.store.db.on_commit(Topic.OUTBOX, self.timers.rearm_soon)
        self.store.db.on_commit(Topic.PAGE_WATCH, self.timers.rearm_soon)  # an unseen page's SMS is due
        self.store.db.on_commit(Topic.OUTBOX, self.sender.wake)
        self.store.db.on_commit(Topic.HANDOVERS, self.timers.rearm_soon)
        self.store.db.on_commit(Topic.CHECKINS, self.timers.rearm_soon)
        self.store.db.on_commit(Topic.REPORTS, self.timers.rearm_soon)
        if not self.role.shared:  # where instances share the database, the one that acts prepares (run)
            self.handovers.prepare(clock())
        self.rosters.on_reloaded.append(lambda: self.handovers.prepare(self.clock()))  # a new district office
        self.matrix.set_on_recovered(self._homeserver_back)
        self.matrix.set_on_session_lost(self._log_in_again)
        self.stop = asyncio.Event()
        self.caught_up = False  # the first sync batch after a start or an outage has been handled
        self.handles_batches = False  # batches go through the inbox (acting), or are kept for a takeover (standing by)
        self.last_sweep_at: float | None = None
        self.stopping = ""  # why the bot gives up, when it must (shown by /healthz before it exits)
        self.metrics.watch(
            outbox_depth=lambda: self.store.outbox.counts().get("pending", 0),
            oldest_undelivered=lambda: self._oldest_undelivered() or 0.0,
            sync_lag=lambda: time.time() - self.matrix.health.last_sync_at if self.matrix.health.last_sync_at else 0.0,
        )
        self.figures = DutyFigures(self.store, lambda: self.roster, lambda: self.matrix.health, clock)
        self.metrics.watch_duty(self.figures.readings())
        self.rosters.on_reloaded.append(self.figures.forget)
        self.web = WebView(
            WebSettings(config.web.host, config.web.port, lang, config.web.base_url.startswith("https://")),
            self.web_auth, self.store, self.services, self.alarms,
            lambda effects, cause: self.outbox.queue(effects, Origin(cause)), clock,
            leave=self.leave, reload=self.reload_rosters,
        ) if self.web_auth is not None else None
        if self.web is not None:  # its readiness page asks the homeserver as the daily report does
            self.web.readiness = ReadinessPage(self.store, lambda: self.roster, lambda p: self.readiness.probe(p),
                                               config.readiness.days, config.matrix.trust, lang, clock,
                                               sms=config.sms.enabled)
        monitoring = config.monitoring
        self.monitoring = Monitoring(
            monitoring.host, monitoring.port, self.health_report,
            HealthLimits(monitoring.sync_age_limit_s, monitoring.undelivered_age_limit_s, monitoring.sweep_age_limit_s,
                         monitoring.homeserver_s),
            self.metrics, monitoring.deadman_url, config.metrics_token(),
        ) if monitoring.enabled else None

    def _queue(self, effects: list[Effect], cause: str) -> None:
        """Queue messages from a part that runs outside the command path (inside the caller's transaction)."""
        self.outbox.queue(effects, Origin(cause))

    def _name_of(self, user: str) -> str:
        return self.names.name(user)

    def _roster_people(self) -> list[str]:
        """Everyone the bot may page or must tell something on the rosters in force, soonest on duty first: those
        with shifts this week in the order of their first, then every unit's members and supervisors, the supervisors
        configured beside them and whoever covers by an override."""
        roster, overrides = self.roster, self.services.overrides.active()
        now = datetime.fromtimestamp(self.clock(), UTC)
        soonest = [p.user for p in on_rosters(roster, overrides, now, 7)]
        rest = sorted(roster.members() | self.services.supervisors() | {o.user for o in overrides})
        return list(dict.fromkeys([*soonest, *rest]))

    def _alarm_people(self, alarm_id: str) -> AlarmPeople | None:
        alarm = self.alarms.get(alarm_id)
        if alarm is None:
            return None
        # Everyone who ever held it: one who handed it on stays in the room, as does the second of two.
        acceptors = tuple(dict.fromkeys([*(u for u, _ in alarm.acceptances), *alarm.holders]))
        return AlarmPeople(alarm.id, alarm.raised_by, acceptors)

    def zone(self) -> tzinfo:
        """Where times not tied to one unit are shown (notices about commands): the rosters' main zone."""
        return self.roster.default_zone

    # --- lifecycle -----------------------------------------------------------------------------------------------
    async def run(self) -> None:
        tasks: list[asyncio.Task[None]] = []
        sync: asyncio.Task[None] | None = None
        try:
            await self.matrix.login(self.config.password())
            if self.config.matrix.cross_signing:
                await self._cross_sign()
            self.role.instance = self.matrix.device_id
            if self.role.shared:
                # A standby syncs (its own device's keys and position) and answers /healthz while it waits to act.
                self.store.sync.of_instance(self.role.instance)
                await self._start_monitoring(tasks)
                sync = self._start_sync()
                if not await self._stand_by(sync):
                    return
                self.handovers.prepare(self.clock())
            else:
                self.role.try_once()
                self.handles_batches = True
            self.inbox.begin()
            self.outage.started()
            self.trail.started()
            self.rosters.tell_started()
            if self.role.took_from:
                tell_supervisors(self.store, self._queue, self.services.supervisors(), self.role.instance,
                                 self.role.took_from, self.config.bot.language)
            await self._start_monitoring(tasks)
            if self.web is not None:
                try:
                    await self.web.start()
                except OSError as err:  # a browser view that cannot listen must not stop the paging
                    log.error("browser view not started: cannot listen on %s:%d (%s)", self.config.web.host,
                              self.config.web.port, err.strerror)
            # A deadline that passed while the bot was down fires at once — once the first sync has brought and the
            # inbox has handled what was said meanwhile (`caught_up`).
            self.timers.start()
            if sync is None:
                sync = self._start_sync()
            else:
                await self._take_over()
            tasks += [
                sync,
                asyncio.create_task(self.sender.run(self.stop), name="outbox"),
                asyncio.create_task(self._every(1.0, self._retry_undecryptable), name="undecryptable"),
                asyncio.create_task(self._every(30.0, self._save_position), name="position"),
                asyncio.create_task(self._every(DAY, self._purge), name="retention"),
                asyncio.create_task(self._every(roster_live.POLL_S, self.rosters.poll), name="rosters"),
                asyncio.create_task(self._prepare_direct_rooms(), name="prepare"),
                asyncio.create_task(self._every(30.0, self.outage.alive), name="alive"),
                asyncio.create_task(self._every(60.0, self.trail.post_head), name="audit-head"),
            ]
            tasks.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))
            self.role.working.set()
            ended = {asyncio.create_task(self.stop.wait()), sync}
            if self.role.shared:
                beat = asyncio.create_task(self.role.beat_while_acting(self.stop), name="beat")
                tasks.append(beat)
                ended |= {beat, asyncio.create_task(self.role.lost.wait())}
            await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
            for waiting in ended - {sync, *tasks}:
                waiting.cancel()
            if self.role.lost.is_set():
                self.stopping = self.role.why_lost
                raise LostActing(self.role.why_lost)
            error = sync.exception() if sync.done() and not sync.cancelled() else None
            if error is not None:
                raise error  # e.g. SessionRevoked: the bot cannot go on
        finally:
            self.timers.shutdown()
            if self.web is not None:
                await self.web.stop()
            self.readiness.stop()
            if self.monitoring is not None:
                await self.monitoring.stop()
            if sync is not None and sync not in tasks:
                tasks.append(sync)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.first_contact.close()
            await self.guard.close()
            if self.sms is not None:
                await self.sms.close()
            try:
                if self.role.acting:  # a standby, or an instance another took over from, writes nothing
                    self.inbox.flush_position()
                    if self.matrix.ready.is_set():
                        self.outage.alive()
                    self.store.acting.hand_over()  # a standby that takes over now has nothing to tell
            finally:
                await self.matrix.close()
                self.store.close()

    def _start_sync(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.matrix.sync_forever(
            self.store.sync.token(), self.store.sync.heads(), self.on_batch, self.stop), name="sync")

    async def _start_monitoring(self, tasks: list[asyncio.Task[None]]) -> None:
        if self.monitoring is None or any(task.get_name() == "deadman" for task in tasks):
            return
        await self.monitoring.start()
        tasks.append(asyncio.create_task(self.monitoring.ping_while_healthy(self.stop), name="deadman"))

    async def _stand_by(self, sync: asyncio.Task[None]) -> bool:
        """Until this instance acts (True), or it must stop (False; a sync that failed raises what it raised)."""
        standing = asyncio.create_task(self.role.until_acting(self.stop), name="standing by")
        await asyncio.wait({standing, sync}, return_when=asyncio.FIRST_COMPLETED)
        if standing.done():
            return standing.result()
        standing.cancel()
        error = sync.exception() if not sync.cancelled() else None
        if error is not None:
            raise error
        return False

    async def _take_over(self) -> None:
        """What this instance synced while it stood by goes through the inbox, in one batch recorded before any
        later batch (nothing awaits before the inbox has recorded it), so the order holds; what the instance before
        had recorded is not recorded again. The deadlines held meanwhile fire once it is handled (`caught_up`)."""
        # The backoff of what waits was the instance before's: its network, its device. This one tries at once.
        self.sender.homeserver_back()
        # From here on batches are handled, not kept: the backlog's first, as nothing awaits before it is recorded.
        # (Batches that came after the lock was taken, while this start ran, are in the backlog.)
        self.handles_batches = True
        backlog = self.recent.backlog()
        if backlog is not None:
            log.info("taking over: %d events synced while standing by go through the inbox", len(backlog.events))
            await self.on_batch(backlog)

    async def reload_rosters(self, cause: str = "web") -> Candidate | None:
        """Read the roster folder and put it in force if it passes `roster check`; the supervisors are told either
        way (bot/duty/reload.py). None: the files are those in force already. For the web view (SIGHUP and the
        file watcher ask the reloader directly)."""
        return await self.rosters.reload(cause)

    def reload_requested(self) -> None:
        """SIGHUP. A standby puts nothing in force: the acting instance reloads (its folder should hold the same
        files; a standby that takes over reads its own folder at its first poll)."""
        if self.role.acting:
            self.rosters.request("sighup")
        else:
            log.info("standing by: rosters are reloaded by the acting instance")

    @property
    def roster(self) -> Roster:
        """The roster in force: the folder's as last put in force, or the stored one (bot/duty/reload.py), with
        the leave made in the browser (bot/duty/leave.py)."""
        return self.leave.merged(self.rosters.roster)

    async def _cross_sign(self) -> None:
        """Retry while the homeserver is unreachable; a refusal (a wrong password, say) stops the bot."""
        attempt = 0
        while not self.stop.is_set():
            try:
                await self.matrix.cross_sign(self.config.password())
                return
            except (UserInteractiveAuthRequired, KeyFileError, IdentityRefused):
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

    async def _log_in_again(self) -> bool:
        """The session was revoked (a password change, "log out all sessions"): log in anew and sign the new device
        with the same cross-signing keys. Without a password there is nothing to do but say so and stop."""
        password = self.config.password()
        if not password:
            self.stopping = ("the bot's session was revoked and no password is configured: set matrix.password_file"
                             " (or the environment variable in matrix.password_env) and start jourbot again")
            log.error(self.stopping)
            return False
        await self.matrix.login_again(password)
        if self.config.matrix.cross_signing:
            await self._cross_sign()
        log.warning("logged in again as a new device after the session was revoked")
        return True

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None] | None]) -> None:
        await self.matrix.ready.wait()
        while not self.stop.is_set():
            try:
                done = work()
                if done is not None:
                    await done
            except Exception:  # each of these loops must outlive any one failure
                log.exception("%s failed; trying again", getattr(work, "__name__", "work"))
            try:
                await asyncio.wait_for(self.stop.wait(), seconds)
            except TimeoutError:
                pass

    async def _heartbeat(self) -> None:
        """The loop's lag for /metrics; systemd told it is ready after the first sync, and its watchdog petted only
        while the loop turns on time and the sweep of due deadlines runs (bot/watch/service_manager.py)."""
        await self.matrix.ready.wait()
        notify("READY=1")
        every = watchdog_every_s()
        tick = min(HEARTBEAT_S, every) if every else HEARTBEAT_S
        petted = time.monotonic()
        while not self.stop.is_set():
            asked = time.monotonic()
            try:
                await asyncio.wait_for(self.stop.wait(), tick)
            except TimeoutError:
                pass
            lag = max(0.0, time.monotonic() - asked - tick)
            self.metrics.loop_lag.set(lag)
            swept = self.last_sweep_at is not None and self.clock() - self.last_sweep_at <= \
                self.config.monitoring.sweep_age_limit_s
            if every and swept and lag < every and time.monotonic() - petted >= every:
                notify("WATCHDOG=1")
                petted = time.monotonic()
        notify("STOPPING=1")

    async def _prepare_direct_rooms(self) -> None:
        """After a start nio has no room key to send with; sharing the direct rooms' keys now, not at the first page,
        keeps the first escalation after a restart as prompt as the others. A direct room that is not the bot's
        alone (made the old way) is replaced first (bot/trust/rooms.py)."""
        await self.matrix.ready.wait()
        await self.guard.replace_old_rooms()
        for user, room in self.store.direct_rooms.all().items():
            if self.stop.is_set():
                return
            await self.matrix.prepare_room(room, user)

    # --- what comes in -------------------------------------------------------------------------------------------
    async def on_batch(self, batch: Batch) -> None:
        if not self.handles_batches:
            self.recent.keep(batch)  # a standby records nothing: kept for the takeover
            return
        for event in self.inbox.on_batch(batch):
            await self.matrix.request_key(event.source)
        self.police_rooms.check()
        self.guard.on_memberships(batch.memberships)
        self.first_contact.on_memberships(batch.memberships)
        await self.inbox.process_pending()
        self.seen.on_receipts(batch.receipts)
        self.outage.after_batch()
        if not self.caught_up:
            # What the homeserver kept from the down time is handled: the deadlines held meanwhile may fire now.
            self.caught_up = True
            self.timers.rearm()

    def _homeserver_back(self, down_s: float) -> None:
        """The homeserver answers again after `down_s` seconds: what waited goes now, and the outage is nobody's
        delay — the messages' delivery deadlines and the time of steps whose pages never arrived move on by it."""
        if not self.role.acting:
            return  # a standby sends nothing and keeps no deadlines: the acting instance saw the outage itself
        self.caught_up = False
        with self.store.transaction():
            if down_s > 0:
                self.store.outbox.postpone_deadlines(down_s)
                self.outbox.queue(self.alarms.homeserver_was_down(down_s), Origin(f"outage:{self.clock()!r}"))
        self.sender.homeserver_back()
        self.outage.homeserver_back()

    async def _retry_undecryptable(self) -> None:
        if await self.undecryptable.retry():
            await self.inbox.process_pending()

    def _save_position(self) -> None:
        self.inbox.flush_position()

    def _purge(self) -> None:
        # The monthly figures per area are kept first: they must outlive the alarms they are counted from.
        self.evaluation.keep_months(self.clock(), self.config.storage.retention_days)
        now = self.clock()
        counts = self.store.retention.purge(now, self.config.storage.retention_days)
        # The crypto store's room keys of the same period: the homeserver keeps its copies of the messages.
        counts["room_keys"] = self.matrix.drop_room_keys(now - self.config.storage.retention_days * DAY, now)
        if counts["room_keys"]:
            with self.store.transaction():
                self.store.audit.append("retention", "retention.room_keys_dropped", "", {"count": counts["room_keys"]})
        if any(counts.values()):
            log.info("retention: purged %s", counts)

    # --- what is due ---------------------------------------------------------------------------------------------
    def _next_due(self) -> float | None:
        unseen = self.sms.next_due() if self.sms is not None else None
        times = [t for t in (self.store.deadlines.next_at(), self.sender.next_deadline(), unseen,
                             self.handovers.next_at(), self.checkins.next_at(), self.readiness.next_at(),
                             self.first_contact.next_at() if self.caught_up else None)
                 if t is not None]
        return min(times, default=None)

    async def sweep(self) -> None:
        """Fire every escalation deadline that is due and report every page past its delivery deadline; then the
        SMS for unseen pages, the handovers, the check-ins and the readiness report, each on its own: none
        of them may ever hold back an escalation."""
        now = self.clock()
        self.last_sweep_at = now
        # Held while the homeserver is away, and after a start or an outage until what it kept from the down time
        # has been handled: an answer given before a deadline must be read before the deadline fires, and nobody is
        # unreachable because the homeserver was.
        held = not self.caught_up or self.matrix.health.consecutive_errors > 0
        due = [] if held else self.store.deadlines.due(now)
        overdue = not held and (self.sender.next_deadline() or now + 1) <= now
        if due or overdue:
            with self.store.transaction():
                for alarm_id, at in due:
                    effects = self.alarms.deadline_due(alarm_id, at, datetime.fromtimestamp(now, UTC))
                    self.outbox.queue(effects, Origin(f"deadline:{alarm_id}:{at!r}"))
                self.sender.sweep_overdue(now)
        sms = self.sms
        if sms is not None and (sms.next_due() or now + 1) <= now:
            self._apart("SMS for unseen pages", lambda: self._sweep_unseen(sms, now))
        if self.handovers.is_due(now):
            self.handovers.hand_over(now, self.outbox)
        self._apart("check-ins", lambda: self._sweep_checkins(now))
        self._apart("readiness report", lambda: self._sweep_readiness(now))
        if self.caught_up and self.role.acting:  # after the first sync: its direct rooms known, none made twice
            self._apart("first contact", lambda: self.first_contact.sweep(now))

    def _sweep_unseen(self, sms: SmsChannel, now: float) -> None:
        with self.store.transaction():
            sms.sweep_unseen(now)

    def _sweep_checkins(self, now: float) -> None:
        self.checkins.plan(now)
        if not self.checkins.due(now):
            return  # an idle bot writes nothing
        with self.store.transaction():
            self.checkins.sweep(now)

    def _sweep_readiness(self, now: float) -> None:
        self.readiness.schedule(now)
        self.readiness.sweep(now)  # its own transaction; the report starts once it is committed

    def _apart(self, what: str, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("%s failed; escalations go on", what)

    def _oldest_undelivered(self) -> float | None:
        oldest = self.store.outbox.oldest_pending_at(self.homeserver_kinds)
        return None if oldest is None else round(self.clock() - oldest, 1)

    def health(self) -> dict[str, Any]:
        return {
            **self.matrix.health.as_dict(),
            "outbox": self.store.outbox.counts(),
            "oldest_undelivered_s": self._oldest_undelivered(),
            "deadlines": self.store.deadlines.count(),
        }

    def health_report(self) -> HealthReport:
        """What /healthz judges (bot/watch/health.py)."""
        synced = self.matrix.health.last_sync_at
        return HealthReport(
            sync_age_s=round(time.time() - synced, 1) if synced else None,
            outbox_depth=self.store.outbox.counts().get("pending", 0),
            oldest_undelivered_s=self._oldest_undelivered(),
            last_sweep_age_s=None if self.last_sweep_at is None else round(self.clock() - self.last_sweep_at, 1),
            homeserver=self.matrix.health.homeserver,
            homeserver_silent_s=round(time.time() - answered, 1) if (answered := self.matrix.health.last_answer_at)
            else None,
            stopping=self.stopping,
            role=self.role.name,
        )
