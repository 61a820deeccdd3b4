"""The sender: the outbox's stored messages carried out after commit, each through the channel of its target.

- Messages to one target (a room, a person, an alarm room) leave strictly in the order they were queued, across
  retries, backoffs and outages: a target's next message waits until the one before it is sent or given up.
- Different targets are served concurrently (bounded), most urgent first: pages, then everything else about an alarm,
  then answers to other commands. Ordinary traffic never takes the last free slots, so no amount of chatter delays
  a page.
- A page goes out alone: while one is being sent, nothing less urgent starts, unless it has waited PAGE_HEAD_START_S
  already. The homeserver stores events one after another, so a message sent beside a page (the police's
  "registrerat", an alarm room) holds up the page and the responder's sync by as long as it takes itself.
- "Being sent" lasts until the homeserver hands the page out, not only until it has stored it: after the PUT is
  answered, the responder's sync is still being made, and the police's "registrerat" sent then delayed it by a
  third. The bot's own sync showing the page is the sign (`handed_out`, at most HANDED_OUT_WAIT_S). The page's own
  send is done meanwhile: it holds no slot, and pages to others never wait for it.
- So does alarm traffic that rings (the police told "accepterat", an escalation, someone unreachable): someone waits
  for it as for a page. It starts before the rest of the alarm's traffic, which waits for it as for a page (pages do
  not): the alarm room made beside the police's "accepterat" kept it from them for three plain messages' time.
- The bound and the head starts (a page's, a ringing message's) hold per lane (bot/channels/channel.py): an SMS
  gateway that hangs takes no slot from the homeserver's traffic, and an SMS never waits for a page. Only the
  homeserver's lane waits for the bot's first sync.
- A transient failure (network, 5xx, 429 with its retry-after) is retried with the same transaction id, so the
  homeserver drops a duplicate after a lost response; the listener is told of a message's first one (the supervisors
  hear that an SMS is failing). A permanent one (413, 403, unknown user, room gone, no verified device, an SMS
  refused) is never retried: the listener is told, and for a page the person counts as unreachable. A message its
  channel drops as no longer needed is stored as "dropped".
- Every message has a delivery deadline. A page still undelivered at its deadline is reported like a permanent
  failure (and still sent if the homeserver comes back: the person may yet answer); the store is the timer for it,
  swept with the escalation deadlines.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from bot.channels.channel import DROPPED, HOMESERVER, Channel, DeliveryListener
from bot.channels.outbox import ALARM, OTHER, PAGE, Origin, Outbox, OutboxSettings
from bot.matrix.port import DeliveryFailure, backoff
from bot.store import OutboxRow, Store
from bot.watch.metrics import Metrics

log = logging.getLogger(__name__)

# How long a message may wait for pages being sent: long enough for a send, short enough that a page stuck on a slow
# homeserver, or a burst of pages, does not stop the rest.
PAGE_HEAD_START_S = 2.0
# How long a sent page (or ringing message) may keep the rest waiting for its echo in the bot's own sync. The echo
# comes some ten milliseconds after the send; a sync that is slower than this is not waited for.
HANDED_OUT_WAIT_S = 0.5


class Sender:
    def __init__(self, outbox: Outbox, channels: Mapping[str, Channel], listener: DeliveryListener,
                 ready: asyncio.Event, metrics: Metrics,
                 handed_out: Callable[[str, float], Awaitable[None]] | None = None) -> None:
        self.outbox = outbox
        self.store: Store = outbox.store
        self.clock: Callable[[], float] = outbox.clock
        self.settings: OutboxSettings = outbox.settings
        self.channels = channels  # target kind ("user", "room", "alarm", "sms", …) → the channel that carries it
        self.listener = listener
        self.ready = ready  # the homeserver's lane waits for it
        self.metrics = metrics
        self.handed_out = handed_out  # the homeserver's lane: returns once the bot's own sync shows an event
        self._wake = asyncio.Event()
        self._running = False  # the send loop runs: sends may start from a commit
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._lane_of: dict[tuple[str, str], str] = {}  # of each target in flight
        self._pages: set[tuple[str, str]] = set()  # targets whose page is in flight
        self._ringing: set[tuple[str, str]] = set()  # targets whose alarm message that rings is in flight
        # Sent pages and ringing messages not yet handed out (event id → lane, a page?): their lane's rest still waits.
        self._landing: dict[str, tuple[str, bool]] = {}
        self._landings: set[asyncio.Task[None]] = set()
        # Where instances share the database: each attempt is claimed for this instance's fencing epoch first, and
        # what to send comes back (marked, if another instance may have sent it: bot/ha/repeats.py). None on SQLite.
        self.claim: Callable[[OutboxRow], OutboxRow] | None = None

    # --- the send loop ---------------------------------------------------------------------------------------------
    def wake(self) -> None:
        """After each commit that queued something. A commit that queued a page starts its send here and now: left
        to the send loop, it would start only after the rest of the sync batch and the loop's own wake-up."""
        self._wake.set()
        if self.outbox.page_queued and self._running:
            self.outbox.page_queued = False
            try:
                self.dispatch()
            except Exception:  # the committing caller must not see it: the send loop, woken, tries again
                log.exception("starting a page's send after its commit failed; the send loop tries again")

    async def run(self, stop: asyncio.Event) -> None:
        ready = asyncio.create_task(self._wake_when_ready(), name="sender ready")
        self._running = True
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    next_at = self.dispatch()
                except Exception:  # the sender must outlive any one failure: a dead outbox is a lost alarm
                    log.exception("outbox round failed; trying again")
                    next_at = self.clock() + 1
                wait = 30.0 if next_at is None else min(30.0, max(0.01, next_at - self.clock()))
                await self._until_woken(wait)
        finally:
            self._running = False
            ready.cancel()
            for task in [*self._in_flight.values(), *self._landings]:
                task.cancel()
            await asyncio.gather(ready, *self._in_flight.values(), *self._landings, return_exceptions=True)

    async def _until_woken(self, seconds: float) -> None:
        """Until `wake` or `seconds`. Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives
        as the wake does (a landing ends, a send is done), and the loop of an App that was stopped ran on."""
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({woken}, timeout=seconds)
        finally:
            woken.cancel()

    async def _wake_when_ready(self) -> None:
        await self.ready.wait()
        self.wake()

    def dispatch(self) -> float | None:
        """Start a send for every target whose next message is due, most urgent first; the next retry instant."""
        now = self.clock()
        next_at: float | None = None
        busy = Counter(self._lane_of.values())  # targets in flight per lane
        # Lanes with a page, or alarm traffic that rings, in flight or not yet handed out.
        paging = {self._lane_of[key] for key in self._pages} | {lane for lane, page in self._landing.values() if page}
        ringing = {self._lane_of[key] for key in self._ringing} | {lane for lane, page in self._landing.values()
                                                                  if not page}
        homeserver_ready = self.ready.is_set()
        heads = self.store.outbox.heads()  # pages first, then alarm traffic, each target in the order queued
        # Within alarm traffic what rings first: it goes out alone, so it must start before the rest does.
        heads.sort(key=lambda head: (head[1], not _rings(*head)))
        for row, urgency in heads:
            if row.key in self._in_flight:
                continue
            if row.next_attempt_at > now:
                next_at = row.next_attempt_at if next_at is None else min(next_at, row.next_attempt_at)
                continue
            channel = self.channels.get(row.target_kind)
            if channel is None:
                continue  # its channel is turned off ([sms] enabled = false): it waits, never sent another way
            lane = channel.lane
            if lane == HOMESERVER and not homeserver_ready:
                continue  # woken when it is
            if urgency != PAGE and (lane in paging or (lane in ringing and not _rings(row, urgency))):
                release = max(row.created_at, row.next_attempt_at) + PAGE_HEAD_START_S
                if release > now:
                    next_at = release if next_at is None else min(next_at, release)
                    continue
            limit = self.settings.concurrency
            if urgency == OTHER:
                limit -= self.settings.reserved_for_alarms
            if busy[lane] >= limit:
                continue
            if self.claim is not None:
                row = self.claim(row)
            task = asyncio.create_task(self._send(row, channel), name=f"send {row.txn_id}")
            self._in_flight[row.key] = task
            self._lane_of[row.key] = lane
            busy[lane] += 1
            if urgency == PAGE:
                self._pages.add(row.key)
                paging.add(lane)
            elif _rings(row, urgency):
                self._ringing.add(row.key)
                ringing.add(lane)
            task.add_done_callback(self._done_callback(row.key))
        return next_at

    def _done_callback(self, key: tuple[str, str]) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self._in_flight.pop(key, None)
            self._lane_of.pop(key, None)
            self._pages.discard(key)
            self._ringing.discard(key)
            self._wake.set()

        return done

    async def drain(self) -> None:
        """Send everything that can be sent now, until nothing is due or in flight: how the component tests let the
        sender finish before they look (the bot itself never waits for it)."""
        while True:
            self.dispatch()
            if not self._in_flight and not self._landings:
                return
            await asyncio.gather(*self._in_flight.values(), *self._landings, return_exceptions=True)

    async def _send(self, row: OutboxRow, channel: Channel) -> None:
        try:
            event_id = await channel.deliver(row)
        except DeliveryFailure as failure:
            self._failed(row, failure, channel.lane)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:  # whatever else went wrong, the message stays queued and is retried
            log.exception("outbox %s: unexpected error", row.txn_id)
            self._failed(row, DeliveryFailure("server", f"{type(err).__name__}: {err}"), channel.lane)
            return
        at = self.clock()
        with self.store.transaction():
            self.store.outbox.sent(row.id, event_id)
            self.outbox.queue(self.listener.delivered(row, event_id, at), Origin(f"{row.txn_id}:delivered"))
        if self.handed_out is not None and channel.lane == HOMESERVER and (row.key in self._pages
                                                                           or row.key in self._ringing):
            self._landing[event_id] = (channel.lane, row.key in self._pages)
            landing = asyncio.create_task(self._until_handed_out(self.handed_out, event_id), name=f"land {event_id}")
            self._landings.add(landing)
            landing.add_done_callback(self._landings.discard)

    async def _until_handed_out(self, handed_out: Callable[[str, float], Awaitable[None]], event_id: str) -> None:
        try:
            await handed_out(event_id, HANDED_OUT_WAIT_S)
        finally:
            self._landing.pop(event_id, None)
            self._wake.set()

    def _failed(self, row: OutboxRow, failure: DeliveryFailure, lane: str) -> None:
        now = self.clock()
        if lane == HOMESERVER:  # the figure is the homeserver's; other channels count their own
            self.metrics.send_failed(failure.reason)
        where = f"{row.target_kind}:{row.target}"
        if failure.reason == DROPPED:
            log.info("outbox %s to %s dropped: %s", row.txn_id, where, failure.detail[:200])
        elif failure.permanent:
            log.warning("outbox %s to %s failed for good (%s): %s", row.txn_id, where, failure.reason,
                        failure.detail[:200])
        if failure.permanent:
            status = "dropped" if failure.reason == DROPPED else "failed"
            with self.store.transaction():
                self.store.outbox.failed(row.id, failure.reason, failure.detail, status)
                self.outbox.queue(self.listener.undeliverable(row, failure.reason, now), Origin(f"{row.txn_id}:failed"))
            return
        delay = failure.retry_after_s if failure.retry_after_s is not None else backoff(row.attempts + 1, 2.0, 60.0)
        with self.store.transaction():
            self.store.outbox.retry_at(row.id, now + delay, str(failure))
            if row.attempts == 0:
                self.outbox.queue(self.listener.failing(row, failure.reason, now), Origin(f"{row.txn_id}:failing"))
        if row.attempts == 0 or (row.attempts + 1) % 10 == 0:
            log.warning("outbox %s to %s failed (attempt %d, %s), retry in %.1f s", row.txn_id, where,
                        row.attempts + 1, failure.reason, delay)

    # --- delivery deadlines (from the timers' sweep, inside its transaction) -----------------------------------------
    def sweep_overdue(self, now: float) -> None:
        for row in self.store.outbox.overdue(now):
            self.store.outbox.mark_overdue(row.id)
            if row.page is not None:
                self.metrics.pages_late.inc()
                self.outbox.queue(self.listener.undeliverable(row, "timeout", now), Origin(f"{row.txn_id}:overdue"))
            else:
                log.warning("outbox %s to %s:%s not delivered within %.0f s; still trying", row.txn_id,
                            row.target_kind, row.target, now - row.created_at)

    def homeserver_back(self) -> None:
        """Messages that waited out an outage go now, not after their backoff: a page must not idle. (An SMS keeps
        its backoff: the homeserver's outage says nothing of the gateway.)"""
        with self.store.transaction():
            self.store.outbox.retry_all_now(self.kinds(HOMESERVER))

    def urgent_waiting(self, lane: str) -> bool:
        """Whether a page or other alarm traffic of `lane` is being sent, has not been handed out yet, or waits to
        be sent: what may not start beside it (a direct room opened ahead of time, bot/trust/first_contact.py)."""
        if any(self._lane_of.get(key) == lane for key in self._pages | self._ringing) or \
                any(landing == lane for landing, _ in self._landing.values()):
            return True
        kinds = self.kinds(lane)
        return any(urgency != OTHER and row.target_kind in kinds for row, urgency in self.store.outbox.heads())

    def kinds(self, lane: str) -> tuple[str, ...]:
        """The target kinds whose channels send through `lane`."""
        return tuple(kind for kind, channel in self.channels.items() if channel.lane == lane)

    def next_deadline(self) -> float | None:
        return self.store.outbox.next_deliver_by()


def _rings(row: OutboxRow, urgency: int) -> bool:
    """Alarm traffic (not a page) that rings: someone waits for it as for a page."""
    return urgency == ALARM and row.rings
