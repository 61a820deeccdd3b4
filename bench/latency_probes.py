"""Stamps for bench/alarm_latency.py: each /sync and each request of a nio client, and the bot's own steps.

Everything is wrapped on the instances (a client's `send` and `receive_response`, attributes of the running App), so
the bot's code is untouched; a stamp that cannot be taken is left out of the figures.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from nio import AsyncClient, SyncResponse

from bot.app import App

# Request kinds by path, first match wins; what is not listed is "other".
KINDS = (("/sendToDevice/", "to_device"), ("/send/", "send"), ("/createRoom", "create_room"), ("/join", "join"),
         ("/invite", "invite"), ("/leave", "leave"), ("/keys/query", "keys_query"), ("/keys/claim", "keys_claim"),
         ("/keys/upload", "keys_upload"), ("/messages", "messages"))


@dataclass(frozen=True)
class SyncStamp:
    answered: float  # the /sync HTTP answer arrived
    parsed: float  # nio has read and validated it; decryption and callbacks start
    handled: float  # nio is done with it (decrypted, callbacks run)
    event_ids: frozenset[str]


@dataclass(frozen=True)
class Request:
    kind: str  # see KINDS
    start: float
    end: float


class ClientStamps:
    """A client's /sync and request stamps, live (ClientProbe) or as the bot's process reported them."""

    def __init__(self, stamps: list[SyncStamp] | None = None, requests: list[Request] | None = None) -> None:
        self.stamps: list[SyncStamp] = stamps or []
        self.requests: list[Request] = requests or []

    def carrying(self, event_id: str) -> SyncStamp | None:
        return next((s for s in self.stamps if event_id in s.event_ids), None)

    def within(self, kind: str, start: float, end: float) -> list[Request]:
        return [r for r in self.requests if r.kind == kind and r.start >= start and r.end <= end]

    def overlapping(self, start: float, end: float, exclude: tuple[str, ...] = ()) -> list[Request]:
        return [r for r in self.requests if r.end > start and r.start < end and r.kind not in exclude]


class ClientProbe(ClientStamps):
    """Wraps one nio client's `send` and `receive_response` on the instance: stamps each /sync and each request."""

    _of: dict[int, ClientProbe] = {}

    @classmethod
    def of(cls, client: AsyncClient) -> ClientProbe:
        """The probe of `client`, made on first use (one per client: each wraps the one before)."""
        if id(client) not in cls._of:
            cls._of[id(client)] = cls(client)
        return cls._of[id(client)]

    def __init__(self, client: AsyncClient) -> None:
        super().__init__()
        # Rooms whose timeline an incremental /sync cut short ("limited"): a message in the gap never reaches nio's
        # callbacks. Joining a room gives one too.
        self.limited: Counter[str] = Counter()
        self._answered = 0.0
        send, receive = client.send, client.receive_response

        async def stamped_send(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            resp = await send(*args, **kwargs)
            end = time.perf_counter()
            path = str((list(args) + [kwargs.get("method", ""), kwargs.get("path", "")])[1]).split("?")[0]
            if "/sync" in path:
                self._answered = end
            else:
                self.requests.append(Request(next((k for mark, k in KINDS if mark in path), "other"), start, end))
            return resp

        async def stamped_receive(response: Any) -> None:
            parsed = time.perf_counter()
            incremental = bool(client.next_batch)
            await receive(response)
            if isinstance(response, SyncResponse):
                if incremental:
                    self.limited.update(r for r, info in response.rooms.join.items() if info.timeline.limited)
                ids = frozenset(e.event_id for info in response.rooms.join.values() for e in info.timeline.events)
                self.stamps.append(SyncStamp(self._answered or parsed, parsed, time.perf_counter(), ids))

        client.send = stamped_send  # type: ignore[method-assign]
        client.receive_response = stamped_receive  # type: ignore[method-assign]


@dataclass
class BotStamps:
    """The bot's steps: live (BotProbe) or as the bot's own process reported them (bench/latency_bot.py)."""

    client: ClientStamps
    sends: dict[str, tuple[float, float]] = field(default_factory=dict)  # event id → matrix.send start, end
    pending: list[tuple[float, float]] = field(default_factory=list)  # inbox.process_pending: start, end
    flushes: list[float] = field(default_factory=list)  # outbox dispatch rounds started
    recorded: list[float] = field(default_factory=list)  # an outbox send done: recorded as sent, consequences queued

    def first_pending_after(self, moment: float) -> tuple[float, float] | None:
        return next((p for p in self.pending if p[0] >= moment), None)

    def first_flush_after(self, moment: float) -> float | None:
        return next((f for f in self.flushes if f >= moment), None)

    def since(self, moment: float) -> dict[str, Any]:
        """What happened from `moment` on, as JSON (time.perf_counter is CLOCK_MONOTONIC here: one clock for every
        process of the machine)."""
        return {"syncs": [[s.answered, s.parsed, s.handled, sorted(s.event_ids)] for s in self.client.stamps
                          if s.answered >= moment],
                "requests": [[r.kind, r.start, r.end] for r in self.client.requests if r.end >= moment],
                "sends": {e: list(span) for e, span in self.sends.items() if span[0] >= moment},
                "pending": [list(p) for p in self.pending if p[0] >= moment],
                "flushes": [f for f in self.flushes if f >= moment],
                "recorded": [r for r in self.recorded if r >= moment]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BotStamps:
        client = ClientStamps([SyncStamp(a, p, h, frozenset(ids)) for a, p, h, ids in data["syncs"]],
                              [Request(k, start, end) for k, start, end in data["requests"]])
        return cls(client, {e: (span[0], span[1]) for e, span in data["sends"].items()},
                   [(p[0], p[1]) for p in data["pending"]], data["flushes"], data["recorded"])


class MeasuredBot(Protocol):
    """The bot under measurement, in this process (BotProbe) or in its own (latency_bot.RemoteBot)."""

    async def idle(self) -> None:
        """Until the bot has nothing queued or in flight."""

    async def state(self) -> str:
        """What the bot has queued and under way, for a message about a wait that timed out."""

    async def page_of(self, larm: str) -> tuple[str, str | None]:
        """What became of the `!larm` event `larm`, and its first page's event id once sent."""

    async def stamps(self, since: float) -> BotStamps:
        """The bot's steps from `since` (a time.perf_counter moment) on."""


class BotProbe(BotStamps):
    """Stamps the bot's steps by wrapping attributes of the running App instance."""

    def __init__(self, app: App) -> None:
        super().__init__(ClientProbe(app.matrix.client))  # type: ignore[attr-defined]
        self._sender = app.sender
        self._store = app.store
        inbox_pending = app.inbox.process_pending

        async def stamped_pending() -> int:
            start = time.perf_counter()
            handled = await inbox_pending()
            self.pending.append((start, time.perf_counter()))
            return handled

        app.inbox.process_pending = stamped_pending  # type: ignore[method-assign]
        dispatch = app.sender.dispatch

        def stamped_dispatch() -> float | None:
            self.flushes.append(time.perf_counter())
            return dispatch()

        app.sender.dispatch = stamped_dispatch  # type: ignore[method-assign]
        send = app.matrix.send

        # Pass everything through: the port's send signature is not ours and grows (must_reach, …).
        async def stamped_send(*args: Any, **kwargs: Any) -> str:
            start = time.perf_counter()
            event_id: str = await send(*args, **kwargs)
            self.sends[event_id] = (start, time.perf_counter())
            return event_id

        app.matrix.send = stamped_send  # type: ignore[method-assign]
        outbox_send = app.sender._send

        async def stamped_outbox_send(*args: Any, **kwargs: Any) -> None:  # (row, channel) since the lanes came
            await outbox_send(*args, **kwargs)
            self.recorded.append(time.perf_counter())

        app.sender._send = stamped_outbox_send  # type: ignore[method-assign]

    async def state(self) -> str:
        """What the bot has queued and under way, for a message about a wait that timed out: each send in flight
        with where it waits, and the first message of each target still queued."""
        counts = self._sender.store.outbox.counts()
        now = self._sender.clock()
        flights = "; ".join(f"{kind}:{target[:24]} at {awaiting(task)}"
                            for (kind, target), task in self._sender._in_flight.items())
        heads = "; ".join(f"{row.purpose} to {row.target_kind}:{row.target[:24]} ({row.attempts} tries, queued"
                          f" {now - row.created_at:.0f} s ago)" for row, _ in self._sender.store.outbox.heads())
        return (f"bot outbox {counts}, {len(self._sender._in_flight)} sends in flight [{flights}];"
                f" first queued per target [{heads}]")

    async def page_of(self, larm: str) -> tuple[str, str | None]:
        """What became of the `!larm` event `larm`: the alarm and its first page (queued, sent, failed), and the page's
        event id once sent."""
        alarm = self._store.alarms.raised_by_event(larm)
        if alarm is None:
            return "the bot has no alarm for it", None
        conn = sqlite3.connect(f"file:{self._store.db.path}?mode=ro", uri=True)  # read-only, beside the bot's own
        try:
            row = conn.execute("SELECT status, sent_event_id FROM outbox WHERE purpose = ?",
                               [f"page:{alarm}:0"]).fetchone()
        finally:
            conn.close()
        if row is None:
            return f"the bot raised {alarm} but queued no page", None
        return f"the bot raised {alarm}, its page {row[0]}" + (f" as {row[1]}" if row[1] else ""), row[1]

    async def idle(self) -> None:
        """Until the bot has nothing queued or in flight."""
        while self._sender.store.outbox.counts().get("pending", 0):
            await asyncio.sleep(0.05)

    async def stamps(self, since: float) -> BotStamps:
        return self


def put_milestones(probe: ClientStamps, who: str, start: float, end: float, t0: float,
                   label: str = "PUT /send") -> tuple[dict[str, float], str]:
    """The HTTP PUT of the event inside a client's send, apart from nio's work around it; and any key sharing."""
    milestones: dict[str, float] = {}
    puts = probe.within("send", start, end)
    if puts:
        milestones[f"{who}: {label} starts"] = puts[-1].start - t0
        milestones[f"{who}: {label} answered"] = puts[-1].end - t0
    shared = probe.within("to_device", start, end)
    note = f"{who} shared a megolm session first ({len(shared)} to-device PUT)" if shared else ""
    return milestones, note


def bot_path(probe: BotStamps, trigger: str, answer: str, until: float, t0: float,
             what: str) -> tuple[dict[str, float], list[str]]:
    """The bot's steps from the sync that carried `trigger` to the send of `answer` (an event id); and what else the
    bot had under way at the homeserver meanwhile (a room being made, another message), as notes."""
    milestones: dict[str, float] = {}
    notes: list[str] = []
    stamp = probe.client.carrying(trigger)
    if stamp:
        milestones |= {"bot: /sync answered": stamp.answered - t0, "bot: nio parsed it": stamp.parsed - t0,
                       "bot: nio decrypted it": stamp.handled - t0}
        pending = probe.first_pending_after(stamp.handled)
        if pending:
            milestones["bot: recorded, handling starts"] = pending[0] - t0
            milestones["bot: handled, outbox woken"] = pending[1] - t0
            flush = probe.first_flush_after(pending[1])
            if flush is not None and flush < until:
                milestones["bot: outbox flush starts"] = flush - t0
    span = probe.sends.get(answer)
    if span:
        milestones[f"bot: {what} send starts"] = span[0] - t0
        puts, note = put_milestones(probe.client, "bot", span[0], span[1], t0, f"{what} PUT")
        milestones |= puts
        milestones[f"bot: {what} send returned"] = span[1] - t0
        recorded = next((r for r in probe.recorded if r >= span[1]), None)
        if recorded is not None and recorded < until + 0.05:
            milestones[f"bot: {what} recorded as sent"] = recorded - t0
        echo = probe.client.carrying(answer)  # the bot's own sync brings its message back: work in this process too
        if echo is not None and echo.answered < until + 0.05:
            milestones[f"bot: its {what} back in its /sync"] = echo.answered - t0
            milestones["bot: that /sync handled"] = echo.handled - t0
        notes += [note] if note else []
        beside = [r for r in probe.client.overlapping(span[0], until, exclude=("to_device",))
                  if not (r.start >= span[0] and r.end <= span[1] and r.kind == "send")]
        if beside:
            notes.append("beside it the bot had " + ", ".join(sorted({r.kind for r in beside})) + " under way")
    return milestones, notes


def sync_milestones(probe: ClientStamps, who: str, event_id: str, t0: float) -> dict[str, float]:
    stamp = probe.carrying(event_id)
    if stamp is None:
        return {}
    return {f"{who}: /sync answered": stamp.answered - t0, f"{who}: nio parsed it": stamp.parsed - t0}


def awaiting(task: asyncio.Task[Any]) -> str:
    """Where a task waits: its chain of coroutines, innermost last (Task.get_stack shows only the outermost)."""
    names: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None and hasattr(coro, "cr_code"):
        frame = coro.cr_frame
        names.append(f"{coro.cr_code.co_name}:{frame.f_lineno}" if frame else coro.cr_code.co_name)
        coro = coro.cr_await
    return " → ".join(names[-4:]) or "?"
