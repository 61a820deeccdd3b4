"""How long a page takes: from the police's `!larm` to the responder holding the decrypted page. Prints figures only.

Everything is real: a throwaway local Synapse, the bot (bot.app.App through the test harness's BotRunner) and E2EE nio
clients for the police ("polis1") and the responder on call ("anna.a", primary round the clock in the test roster).
Beside the alarms it times a plain encrypted message from the police straight to the responder, in a room without the
bot: that is the floor the bot adds to. Plain messages and alarms alternate, so both see the same homeserver state.

Each alarm then goes the way a real one does (README, "After acceptance"): the responder accepts, the bot opens the
alarm room and both join it, the responder reports the phases there and closes with `!klar`, and the bot says so and
leaves the room; the police and the responder stay in it, as people do. The next sample starts only when all of that
is done and the bot's outbox is empty: making an encrypted room and joining it costs the homeserver more than a
second of work, and a sample taken while it is still at it measures that work, not the page (issue 17).

    .venv/bin/python bench/alarm_latency.py [--alarms 50] [--warmup 3] [--json]

Caveat when reading the figures: as in the integration tests, the bot and both clients share one asyncio loop in this
process, so the bot's blocking work (SQLite commits with fsync) can delay the responder's client too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nio import AsyncClient, MatrixRoom, RoomMessageNotice, RoomMessageText, SyncResponse  # noqa: E402
from plumbing import mark_measuring, ms, with_synapse  # noqa: E402

from bot.app import App  # noqa: E402
from tests.harness.botrunner import BotRunner, write_config  # noqa: E402
from tests.harness.people import Person  # noqa: E402
from tests.harness.synapse import Synapse  # noqa: E402

BOT = "@jourbot:localhost"
ROSTERS = REPO / "tests" / "integration" / "rosters"
PASSWORD = "bench-password-not-secret"
# No escalation may page anyone else mid-run, and ~50 alarms from one officer must pass the per-sender limit.
ALARMS_TOML = "\n[alarms]\nstep_wait_override_s = 600\nrate_limit_count = 1000\n"
# Lets every client finish what the previous sample set off (key upkeep, the bot's replies) and park in its long-poll.
SETTLE_S = 0.1
TIMEOUT_S = 30.0
PAGE_ID = re.compile(r"Larm (L\d+)")



# --- stamping -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    at: float
    room_id: str
    event_id: str
    sender: str
    body: str
    msgtype: str
    content: dict[str, Any]


class Arrivals:
    """Stamps each decrypted message when nio hands it to the callbacks, and wakes whoever expects it.

    The harness's `wait_for` records no instant and may sleep up to 0.2 s between looks; a latency needs the instant.
    """

    def __init__(self, person: Person) -> None:
        self._waiting: list[tuple[Callable[[Arrival], bool], asyncio.Future[Arrival]]] = []
        person.client.add_event_callback(self._on_message, (RoomMessageText, RoomMessageNotice))

    def _on_message(self, room: MatrixRoom, event: RoomMessageText | RoomMessageNotice) -> None:
        content = event.source.get("content", {})
        arrival = Arrival(
            time.perf_counter(), room.room_id, event.event_id, event.sender, event.body, content.get("msgtype", ""),
            content,
        )
        for predicate, future in list(self._waiting):
            if not future.done() and predicate(arrival):
                future.set_result(arrival)
                self._waiting.remove((predicate, future))

    def expect(self, predicate: Callable[[Arrival], bool]) -> asyncio.Future[Arrival]:
        """Register before sending, so an answer that beats `send`'s return is not missed."""
        future: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiting.append((predicate, future))
        return future


@dataclass(frozen=True)
class SyncStamp:
    answered: float  # the /sync HTTP answer arrived
    parsed: float  # nio has read and validated it; decryption and callbacks start
    handled: float  # nio is done with it (decrypted, callbacks run)
    event_ids: frozenset[str]


@dataclass(frozen=True)
class Request:
    kind: str  # "send" (an event) | "to_device" (key sharing)
    start: float
    end: float


class ClientProbe:
    """Wraps one nio client's `send` and `receive_response` on the instance: stamps each /sync and each PUT."""

    def __init__(self, client: AsyncClient) -> None:
        self.stamps: list[SyncStamp] = []
        self.requests: list[Request] = []
        self._answered = 0.0
        send, receive = client.send, client.receive_response

        async def stamped_send(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            resp = await send(*args, **kwargs)
            end = time.perf_counter()
            method, path = (list(args) + [kwargs.get("method", ""), kwargs.get("path", "")])[:2]
            if "/sync" in str(path):
                self._answered = end
            elif method == "PUT" and "/sendToDevice/" in str(path):
                self.requests.append(Request("to_device", start, end))
            elif method == "PUT" and "/send/" in str(path):
                self.requests.append(Request("send", start, end))
            return resp

        async def stamped_receive(response: Any) -> None:
            parsed = time.perf_counter()
            await receive(response)
            if isinstance(response, SyncResponse):
                ids = frozenset(e.event_id for info in response.rooms.join.values() for e in info.timeline.events)
                self.stamps.append(SyncStamp(self._answered or parsed, parsed, time.perf_counter(), ids))

        client.send = stamped_send  # type: ignore[method-assign]
        client.receive_response = stamped_receive  # type: ignore[method-assign]

    def carrying(self, event_id: str) -> SyncStamp | None:
        return next((s for s in self.stamps if event_id in s.event_ids), None)

    def within(self, kind: str, start: float, end: float) -> list[Request]:
        return [r for r in self.requests if r.kind == kind and r.start >= start and r.end <= end]


class BotProbe:
    """Stamps the bot's steps by wrapping attributes of the running App instance; the bot's code is untouched."""

    def __init__(self, app: App) -> None:
        self.client = ClientProbe(app.matrix.client)  # type: ignore[attr-defined]
        self.sends: dict[str, tuple[float, float]] = {}  # event id → matrix.send start, end
        self.pending: list[tuple[float, float]] = []  # inbox.process_pending: start, end
        self.flushes: list[float] = []  # outbox dispatch rounds started
        self._outbox = app.outbox
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

    async def idle(self) -> None:
        """Until the bot has nothing queued or in flight."""
        while self._outbox.store.outbox.counts().get("pending", 0):
            await asyncio.sleep(0.05)

    def first_pending_after(self, moment: float) -> tuple[float, float] | None:
        return next((p for p in self.pending if p[0] >= moment), None)

    def first_flush_after(self, moment: float) -> float | None:
        return next((f for f in self.flushes if f >= moment), None)


# --- samples --------------------------------------------------------------------------------------------------------
@dataclass
class Sample:
    kind: str  # "ping" | "alarm"
    total: float  # seconds from just before police.send to the responder holding the decrypted message
    milestones: dict[str, float] = field(default_factory=dict)  # seconds since t0
    note: str = ""


@dataclass
class Run:
    floor: list[Sample]
    alarms: list[Sample]
    warmups: list[Sample]
    bot_sync_timeout_s: int
    bot_trust: str


@dataclass
class Scene:
    police: Person
    anna: Person
    anna_arrivals: Arrivals
    police_probe: ClientProbe
    anna_probe: ClientProbe
    police_room: str
    floor_room: str
    bot_probe: BotProbe


def _anna_milestones(scene: Scene, arrival: Arrival, t0: float) -> dict[str, float]:
    stamp = scene.anna_probe.carrying(arrival.event_id)
    if stamp is None:
        return {}
    return {"anna: /sync answered": stamp.answered - t0, "anna: nio parsed it": stamp.parsed - t0}


def _put_milestones(probe: ClientProbe, who: str, start: float, end: float, t0: float) -> tuple[dict[str, float], str]:
    """The HTTP PUT of the event inside a client's send, apart from nio's work around it; and any key sharing."""
    milestones: dict[str, float] = {}
    puts = probe.within("send", start, end)
    if puts:
        milestones[f"{who}: PUT /send starts"] = puts[-1].start - t0
        milestones[f"{who}: PUT /send answered"] = puts[-1].end - t0
    shared = probe.within("to_device", start, end)
    note = f"{who} shared a megolm session first ({len(shared)} to-device PUT)" if shared else ""
    return milestones, note


async def ping(scene: Scene, n: int) -> Sample:
    body = f"ping {n}"
    await asyncio.sleep(SETTLE_S)
    expected = scene.anna_arrivals.expect(lambda a: a.room_id == scene.floor_room and a.body == body)
    t0 = time.perf_counter()
    await scene.police.send(scene.floor_room, body)
    sent = time.perf_counter()
    arrival = await asyncio.wait_for(expected, TIMEOUT_S)
    puts, note = _put_milestones(scene.police_probe, "police", t0, sent, t0)
    milestones = {**puts, "police: send returned": sent - t0, **_anna_milestones(scene, arrival, t0)}
    return Sample("ping", arrival.at - t0, milestones, note)


async def alarm(scene: Scene, n: int) -> Sample:
    marker = f"mätning {n}."
    await asyncio.sleep(SETTLE_S)
    expected = scene.anna_arrivals.expect(
        lambda a: a.sender == BOT and a.msgtype == "m.text" and marker in a.body
        and scene.anna.user_id in a.content.get("m.mentions", {}).get("user_ids", [])
    )
    t0 = time.perf_counter()
    larm = await scene.police.send(scene.police_room, f"!larm Farsta {marker}")
    sent = time.perf_counter()
    page = await asyncio.wait_for(expected, TIMEOUT_S)
    found = PAGE_ID.search(page.body)
    if found is None:
        raise RuntimeError(f"a page without an alarm id: {page.body!r}")
    alarm_id = found.group(1)
    puts, police_note = _put_milestones(scene.police_probe, "police", t0, sent, t0)
    milestones = {**puts, "police: send returned": sent - t0}
    notes = [police_note] if police_note else []
    probe = scene.bot_probe
    bot_sync = probe.client.carrying(larm)
    if bot_sync:
        milestones |= {
            "bot: /sync answered": bot_sync.answered - t0,
            "bot: nio parsed it": bot_sync.parsed - t0,
            "bot: nio decrypted it": bot_sync.handled - t0,
        }
        pending = probe.first_pending_after(bot_sync.handled)
        if pending:
            milestones["bot: recorded, handling starts"] = pending[0] - t0
            milestones["bot: handled, outbox woken"] = pending[1] - t0
            flush = probe.first_flush_after(pending[1])
            if flush is not None and flush < page.at:
                milestones["bot: outbox flush starts"] = flush - t0
    send_span = probe.sends.get(page.event_id)
    if send_span:
        milestones["bot: page send starts"] = send_span[0] - t0
        bot_puts, bot_note = _put_milestones(probe.client, "bot", send_span[0], send_span[1], t0)
        milestones |= {k.replace("PUT /send", "page PUT"): v for k, v in bot_puts.items()}
        milestones["bot: page send returned"] = send_span[1] - t0
        notes += [bot_note] if bot_note else []
    milestones |= _anna_milestones(scene, page, t0)
    if n == 1:
        notes.insert(0, "first page: the bot creates the direct room")
    sample = Sample("alarm", page.at - t0, milestones, "; ".join(notes))
    await accept_and_close(scene, alarm_id, larm, page)
    return sample


# What the responder reports in the alarm room, in order, and how each line to the police room begins.
PHASES = (("!påväg 15", "🚗 {id}:"), ("!framme", "📍 {id}:"), ("!skydd gjord plan", "🧒 {id}:"),
          ("!överlämnad Farsta", "📋 {id}:"), ("!klar", "☑️ {id} avslutat"))


async def accept_and_close(scene: Scene, alarm_id: str, larm: str, page: Arrival) -> None:
    """Take the alarm, work it in its alarm room and close it, as real use does; return once the bot has left the
    room and has nothing more to send, so nothing of this alarm is under way when the next sample starts."""
    police, anna = scene.police, scene.anna
    police_seen, anna_seen = len(police.received), len(anna.received)
    await anna.send(page.room_id, f"!ok {alarm_id}")
    await asyncio.gather(
        police.wait_for(
            lambda m: m.sender == BOT and m.reply_to == larm and f"{alarm_id} accepterat av" in m.body,
            TIMEOUT_S, start=police_seen,
        ),
        anna.wait_for(lambda m: m.sender == BOT and f"Du har {alarm_id} (" in m.body, TIMEOUT_S, start=anna_seen),
    )
    # The room's facts reach each of them once they have joined.
    facts = f"🚨 {alarm_id} —"
    room = (await anna.wait_for(lambda m: m.sender == BOT and m.body.startswith(facts), TIMEOUT_S,
                                start=anna_seen)).room_id
    await police.wait_for(lambda m: m.room_id == room and m.body.startswith(facts), TIMEOUT_S, start=police_seen)
    for command, line in PHASES:
        seen, told = len(police.received), line.format(id=alarm_id)
        await anna.send(room, command)
        await police.wait_for(lambda m, told=told: m.sender == BOT and m.room_id == scene.police_room
                              and m.body.startswith(told), TIMEOUT_S, start=seen)
    for person in (police, anna):
        await person.wait_until(lambda p=person: BOT not in p.client.rooms[room].users, TIMEOUT_S)
    await scene.bot_probe.idle()


# --- figures --------------------------------------------------------------------------------------------------------
def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": ms(statistics.median(values)),
        "p95_ms": ms(statistics.quantiles(values, n=100, method="inclusive")[94]),
        "mean_ms": ms(statistics.fmean(values)),
        "min_ms": ms(min(values)),
        "max_ms": ms(max(values)),
    }


def milestone_medians(samples: list[Sample]) -> dict[str, float]:
    names: list[str] = []
    for sample in samples:
        names += [k for k in sample.milestones if k not in names]
    out = {}
    for name in names:
        values = [s.milestones[name] for s in samples if name in s.milestones]
        out[name] = ms(statistics.median(values))
    final = "anna has the decrypted page" if samples[0].kind == "alarm" else "anna has the decrypted message"
    out[final] = ms(statistics.median(s.total for s in samples))
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


def report(env: dict[str, str], run: Run, count: int) -> dict:
    floor, alarms, warmups = run.floor, run.alarms, run.warmups
    floor_s, alarm_s = summary([s.total for s in floor]), summary([s.total for s in alarms])
    added = round(alarm_s["median_ms"] - floor_s["median_ms"], 1)
    paired = ms(statistics.median(a.total - f.total for a, f in zip(alarms, floor, strict=True)))
    slowest = sorted(alarms, key=lambda s: s.total, reverse=True)[:3]
    return {
        "environment": env,
        "method": {
            "samples": count,
            "order": "interleaved: each round sends one plain message, then raises one alarm",
            "warmup_rounds": len(warmups) // 2,
            "settle_ms_before_each_sample": ms(SETTLE_S),
            "t0": "just before police.send",
            "t1": "the responder's nio client hands the decrypted event to its callbacks",
            "p95": "linear interpolation between order statistics (statistics.quantiles, inclusive)",
            "milestones": "median of each step's time since t0, taken separately, so not exactly additive",
            "between_alarms": "anna accepts with !ok Ln, both join the alarm room, anna reports the phases there and"
                              " closes with !klar; the next round waits until the bot has left the room and its"
                              " outbox is empty",
            "bot_sync_timeout_s": run.bot_sync_timeout_s,
            "bot_trust": run.bot_trust,
        },
        "plain_message": floor_s,
        "alarm_page": alarm_s,
        "page_to_plain_at_median": round(alarm_s["median_ms"] / floor_s["median_ms"], 2),
        "page_to_plain_at_p95": round(alarm_s["p95_ms"] / floor_s["p95_ms"], 2),
        "bot_adds_at_median_ms": added,
        "bot_adds_at_p95_ms": round(alarm_s["p95_ms"] - floor_s["p95_ms"], 1),
        "bot_adds_median_of_paired_differences_ms": paired,
        "target_ms": 50.0,
        "target_met": added < 50.0,
        "plain_message_milestones_median_ms": milestone_medians(floor),
        "alarm_milestones_median_ms": milestone_medians(alarms),
        "counted_samples_with_key_sharing": {
            "plain_message": sum("megolm" in s.note for s in floor),
            "alarm_page": sum("megolm" in s.note for s in alarms),
        },
        "slowest_alarms": [
            {"total_ms": ms(s.total), "note": s.note, "milestones_ms": {k: ms(v) for k, v in s.milestones.items()}}
            for s in slowest
        ],
        "warmup": [{"kind": s.kind, "total_ms": ms(s.total), "note": s.note} for s in warmups],
    }


def print_text(figures: dict) -> None:
    env, method = figures["environment"], figures["method"]
    print(f"jourbot alarm latency: Python {env['python']}, matrix-nio {env['matrix_nio']}, Synapse {env['synapse']}"
          f" (SQLite, 127.0.0.1), {env['platform']}")
    print(f"{method['samples']} alarms and {method['samples']} plain messages, {method['order']};"
          f" {method['warmup_rounds']} warm-up rounds not counted")
    print("t0 just before police.send; t1 when the responder's client has the decrypted event;"
          f" bot long-poll {method['bot_sync_timeout_s']} s, trust {method['bot_trust']}\n")
    print(f"{'':38}{'median':>10}{'p95':>10}{'mean':>10}{'min':>10}{'max':>10}")
    for label, key in (("plain message, police → anna", "plain_message"), ("!larm → anna has the page", "alarm_page")):
        row = figures[key]
        print(f"{label:38}" + "".join(f"{row[k]:>7.1f} ms" for k in ("median_ms", "p95_ms", "mean_ms", "min_ms",
                                                                      "max_ms")))
    verdict = "met" if figures["target_met"] else "NOT met"
    print(f"\nbot adds at the median: {figures['bot_adds_at_median_ms']:.1f} ms (target < 50 ms: {verdict});"
          f" at p95: {figures['bot_adds_at_p95_ms']:.1f} ms;"
          f" median of paired differences: {figures['bot_adds_median_of_paired_differences_ms']:.1f} ms")
    print(f"page ÷ plain message: {figures['page_to_plain_at_median']:.2f}× at the median,"
          f" {figures['page_to_plain_at_p95']:.2f}× at p95 (an alarm is two hops: 2.0× is the floor)")
    for title, key in (("plain message", "plain_message_milestones_median_ms"),
                       ("alarm", "alarm_milestones_median_ms")):
        print(f"\nwhere the time goes, {title} (ms since t0, median of each step on its own):")
        for name, value in figures[key].items():
            print(f"  {value:7.1f}  {name}")
    shared = figures["counted_samples_with_key_sharing"]
    print(f"\ncounted samples that had to share a megolm session first: {shared['plain_message']} plain,"
          f" {shared['alarm_page']} alarms")
    print("\nslowest alarms (ms since t0):")
    for slow in figures["slowest_alarms"]:
        steps = ", ".join(f"{k} {v:.1f}" for k, v in slow["milestones_ms"].items())
        print(f"  {slow['total_ms']:7.1f}  {steps}" + (f" [{slow['note']}]" if slow["note"] else ""))
    print("\nwarm-up (not counted): " + "; ".join(
        f"{w['kind']} {w['total_ms']:.1f} ms" + (f" ({w['note']})" if w["note"] else "") for w in figures["warmup"]
    ))


# --- the run --------------------------------------------------------------------------------------------------------
async def measure(synapse: Synapse, workdir: Path, count: int, warmup: int, quiet: bool) -> Run:
    mark_measuring()
    people: list[Person] = []
    bot: BotRunner | None = None
    try:
        police = Person(synapse.url, synapse.register("polis1", PASSWORD), PASSWORD, workdir / "people" / "polis1")
        people.append(police)
        anna = Person(synapse.url, synapse.register("anna.a", PASSWORD), PASSWORD, workdir / "people" / "anna.a")
        people.append(anna)
        await police.start()
        await anna.start()
        arrivals, police_probe, anna_probe = Arrivals(anna), ClientProbe(police.client), ClientProbe(anna.client)
        police_room = await police.create_room([BOT], name="polisrum")
        floor_room = await police.create_room([anna.user_id], name="golv")
        await police.wait_joined(floor_room, anna.user_id)
        await anna.wait_until(lambda: floor_room in anna.client.rooms)
        config = write_config(workdir / "bot", synapse.url, PASSWORD, [police_room], [police.user_id],
                              extra=ALARMS_TOML, rosters=ROSTERS)
        bot = BotRunner(config)
        app = await bot.start()
        await police.wait_joined(police_room, BOT)
        scene = Scene(police, anna, arrivals, police_probe, anna_probe, police_room, floor_room, BotProbe(app))

        warmups: list[Sample] = []
        floor: list[Sample] = []
        alarms: list[Sample] = []
        for n in range(1, warmup + count + 1):
            plain = await ping(scene, n)
            paged = await alarm(scene, n)
            if n <= warmup:
                warmups += [plain, paged]
            else:
                floor.append(plain)
                alarms.append(paged)
            if not quiet and (n - warmup) % 10 == 0 and n > warmup:
                print(f"  {n - warmup}/{count} rounds", file=sys.stderr, flush=True)
        return Run(floor, alarms, warmups, app.config.matrix.sync_timeout_s, app.config.matrix.trust)
    finally:
        if bot is not None:
            await bot.stop()
        for person in people:
            await person.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alarms", type=int, default=50, help="counted alarms, and as many plain messages (≥ 20)")
    parser.add_argument("--warmup", type=int, default=3, help="rounds before counting (the first creates the DM)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    args = parser.parse_args()
    if args.alarms < 20:
        parser.error("--alarms must be at least 20 for a 95th percentile to mean anything")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # nio warns "Missing session for device" each time it first shares keys, which is expected here, not news.
    logging.getLogger("nio").setLevel(logging.ERROR)

    announce = None if args.json else "measuring"
    run, env = with_synapse("jourbot-bench-", announce, PASSWORD,
                            lambda synapse, workdir: measure(synapse, workdir, args.alarms, args.warmup, args.json))
    figures = report(env, run, args.alarms)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print_text(figures)


if __name__ == "__main__":
    main()
