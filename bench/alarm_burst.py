"""Alarms under load: a burst, escalation lateness, a long history and a big room. Prints figures only.

Everything is real, as in bench/alarm_latency.py: a throwaway local Synapse (127.0.0.1), the bot through the test
harness's BotRunner, and E2EE nio clients (tests/harness/people.Person) for ten police officers and the three people on
call for Farsta in the test roster (anna.a primary, bertil.b secondary, chef.c supervisor). The bot is a black box:
only what the clients receive is timed; beside that, the bot's HTTP requests are counted and timed by kind (wrapping
its nio client instance, as alarm_latency.py's probes do), to show where the time goes. Scenarios (--scenarios):

  floor     the same number of encrypted messages as the burst pages, sent by the officers as fast as they can into
            one room whose one other member (anna.a) receives them; no bot.
  burst     100 `!larm Farsta …` within one second from 10 officers in one police room; time to the last decrypted page
            at anna.a and to the last acknowledgement in the police room; every alarm paged exactly once, nobody else.
  lateness  50 alarms raised over ~10 s with a short step wait; how late each escalation reaches bertil.b, measured
            against the instant anna.a got the first page (client sync latency roughly cancels).
  history   a second police room is given ~2,000 finished alarms (raised by one officer, closed by chef.c; the other
            nine officers join afterwards), then burst and lateness are measured again there, each right after a
            restart of the bot with messages arriving while it was down; and the floor once more, as a check on how
            much slower the homeserver itself has become.
  bigroom   one alarm at a time in a police room of 150 members with uploaded device keys, beside a 2-member one.
  flood     someone with no role invites the bot into a room of their own and sends 1,000 commands in a few seconds;
            a police alarm right after: its page latency beside that of an alarm with no flood.

The empty-store burst and lateness are also measured right after such a restart, so history is the only difference.

    .venv/bin/python bench/alarm_burst.py [--quick] [--scenarios floor,burst,lateness,history,bigroom] [--json]

All scenarios take about 10 minutes on 2 CPUs (building the history is 6 of them), --quick about 3; --help lists
the sizes. Exit code 0 whenever the run itself worked, whatever the figures.

Caveats when reading the figures: as in the integration tests the bot and all clients share one asyncio loop in this
process, so client work (the officers decrypting each other's messages) competes with the bot; and the clients here ask
/sync for up to 1000 timeline events per room so that no message is skipped (nio does not fill gaps); the bot asks
for 100 and fills what lies beyond from /messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nio import (  # noqa: E402
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    MatrixRoom,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessagesResponse,
    RoomMessageText,
    RoomPreset,
    SyncResponse,
)
from plumbing import mark_measuring, ms, with_synapse  # noqa: E402

from tests.harness.botrunner import BotRunner, write_config  # noqa: E402
from tests.harness.people import ENCRYPTION, Person  # noqa: E402
from tests.harness.synapse import Synapse  # noqa: E402

BOT = "@jourbot:localhost"
ROSTERS = REPO / "tests" / "integration" / "rosters"
PASSWORD = "bench-password-not-secret"
SCENARIOS = ("floor", "burst", "lateness", "history", "bigroom", "flood")
PAGE_ID = re.compile(r"Larm (L\d+)")
CLOSED = re.compile(r"(L\d+) är (?:redan )?avslutat")
# Our clients must see every message: Synapse's default of 10 timeline events per room and sync would make nio skip
# the rest of a burst (it does not fill gaps). The bot is left with the default: how it copes is part of the figures.
TIMELINE_FILTER = {"room": {"timeline": {"limit": 1000}}}
QUIET_S = 1.0  # the bot counts as idle once none of our clients has received anything from it for this long



def summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    p95 = statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else values[0]
    return {
        "n": len(values),
        "median_ms": ms(statistics.median(values)),
        "p95_ms": ms(p95),
        "max_ms": ms(max(values)),
        "min_ms": ms(min(values)),
    }


# --- what the clients receive, stamped ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    at: float
    room_id: str
    event_id: str
    sender: str
    body: str
    msgtype: str
    content: dict[str, Any]

    @property
    def reply_to(self) -> str | None:
        return (self.content.get("m.relates_to", {}).get("m.in_reply_to") or {}).get("event_id")

    def pages(self, user_id: str) -> bool:
        """A page: an m.text from the bot that mentions the reader (an m.notice would not ping); the reminder of an
        unanswered page is not another page."""
        return (
            self.sender == BOT and self.msgtype == "m.text" and PAGE_ID.search(self.body) is not None
            and user_id in self.content.get("m.mentions", {}).get("user_ids", [])
            and "🔁" not in self.body.split("\n", 1)[0]
        )

    @property
    def alarm_id(self) -> str:
        found = PAGE_ID.search(self.body)
        return found.group(1) if found else ""


class Inbox:
    """Stamps each decrypted message when nio hands it to the callbacks (Person.wait_for records no instant)."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.arrivals: list[Arrival] = []
        self.last_from_bot = 0.0
        self._new = asyncio.Event()
        person.client.add_event_callback(self._on_message, (RoomMessageText, RoomMessageNotice))

    def _on_message(self, room: MatrixRoom, event: RoomMessageText | RoomMessageNotice) -> None:
        now = time.perf_counter()
        content = event.source.get("content", {})
        self.arrivals.append(Arrival(now, room.room_id, event.event_id, event.sender, event.body,
                                     content.get("msgtype", ""), content))
        if event.sender == BOT:
            self.last_from_bot = now
        self._new.set()

    @property
    def mark(self) -> int:
        return len(self.arrivals)

    def since(self, mark: int, predicate: Callable[[Arrival], bool]) -> list[Arrival]:
        return [a for a in self.arrivals[mark:] if predicate(a)]

    async def until(
        self, mark: int, predicate: Callable[[Arrival], bool], done: Callable[[list[Arrival]], bool], timeout: float
    ) -> tuple[list[Arrival], bool]:
        """Arrivals since `mark` that match, once `done(them)` holds or `timeout` passes; and whether it held."""
        deadline = time.monotonic() + timeout
        seen = mark
        found: list[Arrival] = []
        while True:
            found += [a for a in self.arrivals[seen:] if predicate(a)]
            seen = len(self.arrivals)
            if done(found):
                return found, True
            left = deadline - time.monotonic()
            if left <= 0:
                return found, False
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), min(left, 1.0))
            except TimeoutError:
                pass


def widen_timeline(person: Person) -> dict[str, int]:
    """Make the person's /sync ask for up to 1000 timeline events per room; count limited timelines that still occur."""
    client = person.client
    original = client.sync
    counts = {"syncs": 0, "limited_timelines": 0}

    async def sync(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("sync_filter", TIMELINE_FILTER)
        incremental = bool(client.next_batch)
        resp = await original(*args, **kwargs)
        if isinstance(resp, SyncResponse) and incremental:
            counts["syncs"] += 1
            counts["limited_timelines"] += sum(bool(i.timeline.limited) for i in resp.rooms.join.values())
        return resp

    client.sync = sync  # type: ignore[method-assign]
    return counts


# --- the bot's HTTP traffic, counted from outside ----------------------------------------------------------------
class BotTraffic:
    """Counts and times the requests of the running bot's nio client by kind, and how long nio spends on what they
    return; and the limited timelines its syncs get. Wraps the client instance only: the bot's code is untouched, and
    if a future App has no `matrix.client` the figures are just left out."""

    KINDS = (("/sendToDevice/", "to_device"), ("/messages", "messages"), ("/sync", "sync"), ("/send/", "send"),
             ("/keys/query", "keys_query"), ("/keys/claim", "keys_claim"), ("/keys/upload", "keys_upload"))

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.limited = 0
        self.attached = False

    def attach(self, app: Any) -> None:
        client = getattr(getattr(app, "matrix", None), "client", None)
        if not isinstance(client, AsyncClient):
            return
        self.attached = True
        send, receive = client.send, client.receive_response

        async def counted_send(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await send(*args, **kwargs)
            finally:
                path = str((list(args) + [kwargs.get("method", ""), kwargs.get("path", "")])[1])
                kind = next((k for marker, k in self.KINDS if marker in path), "other")
                self.calls[kind] += 1
                label = "sync (HTTP, long-poll wait included)" if kind == "sync" else f"{kind} (HTTP)"
                self.seconds[label] += time.perf_counter() - start

        async def counted_receive(response: Any) -> None:
            start = time.perf_counter()
            await receive(response)
            if isinstance(response, SyncResponse):
                self.limited += sum(bool(i.timeline.limited) for i in response.rooms.join.values())
                self.seconds["sync (nio parses, decrypts)"] += time.perf_counter() - start
            elif isinstance(response, RoomMessagesResponse):
                self.seconds["messages (nio parses, decrypts)"] += time.perf_counter() - start

        client.send = counted_send  # type: ignore[method-assign]
        client.receive_response = counted_receive  # type: ignore[method-assign]

    def snapshot(self) -> tuple[Counter[str], Counter[str], int]:
        return Counter(self.calls), Counter(self.seconds), self.limited

    def since(self, before: tuple[Counter[str], Counter[str], int]) -> dict[str, Any]:
        if not self.attached:
            return {}
        calls, seconds, limited = before
        return {
            "limited_timelines": self.limited - limited,
            "requests": dict(sorted((self.calls - calls).items())),
            "seconds": {k: round(v, 2) for k, v in sorted((self.seconds - seconds).items(), key=lambda kv: -kv[1])},
        }


# --- the scene -----------------------------------------------------------------------------------------------------
@dataclass
class Settings:
    scenarios: list[str]
    burst: int
    senders: int
    window_s: float
    lateness: int
    spread_s: float
    step_wait_s: int
    history: int
    chatter: int
    big_members: int
    big_alarms: int
    timeout_s: float
    quiet: bool


@dataclass
class Scene:
    synapse: Synapse
    workdir: Path
    settings: Settings
    police: list[Person]
    anna: Person
    bertil: Person
    chef: Person
    inbox: dict[str, Inbox]
    sync_counts: dict[str, dict[str, int]]
    police_room: str
    chef_room: str
    floor_room: str = ""
    relay: Person | None = None  # a plain client doing the bot's sending, in order, for the ordered floor
    relay_room: str = ""  # the relay's room with anna.a
    history_room: str = ""
    small_room: str = ""
    big_room: str = ""
    bot: BotRunner | None = None
    traffic: BotTraffic = field(default_factory=BotTraffic)
    step_wait_s: int = 600
    # Limited timelines our clients got from joining a room (new rooms, the history room): no message lost there.
    joins_limited: Counter[str] = field(default_factory=Counter)

    def limited(self) -> Counter[str]:
        return Counter({u: c["limited_timelines"] for u, c in self.sync_counts.items()})

    @property
    def observer(self) -> Inbox:
        """The officer whose client stands for the police room (every officer there sees the same messages)."""
        return self.inbox[self.police[0].user_id]

    def rooms(self) -> list[str]:
        return [r for r in (self.police_room, self.history_room, self.small_room, self.big_room) if r]

    def configure(self, step_wait_s: int) -> Path:
        self.step_wait_s = step_wait_s
        extra = (f"\n[alarms]\nstep_wait_override_s = {step_wait_s}\nrate_limit_count = 1000000\n"
                 "rate_limit_window_s = 60\n")
        return write_config(self.workdir / "bot", self.synapse.url, PASSWORD, self.rooms(),
                            [p.user_id for p in self.police], extra=extra, rosters=ROSTERS)

    def log(self, text: str) -> None:
        if not self.settings.quiet:
            print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def person(scene_dir: Path, synapse: Synapse, localpart: str, people: list[Person]) -> Person:
    user_id = await asyncio.to_thread(synapse.register, localpart, PASSWORD)
    someone = Person(synapse.url, user_id, PASSWORD, scene_dir / "people" / localpart)
    people.append(someone)
    return someone


async def create_room(owner: Person, invite: list[str], name: str, public: bool = False) -> str:
    resp = await owner.client.room_create(
        name=name, invite=invite, initial_state=[ENCRYPTION],
        preset=RoomPreset.public_chat if public else RoomPreset.private_chat,
    )
    if not isinstance(resp, RoomCreateResponse):
        raise RuntimeError(f"could not create room {name}: {resp}")
    await owner.wait_until(lambda: resp.room_id in owner.client.rooms, 20)
    return str(resp.room_id)


async def quiet(scene: Scene, limit_s: float = 60.0) -> None:
    """Until none of our clients has received anything from the bot for QUIET_S (the bot has caught up)."""
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        last = max(i.last_from_bot for i in scene.inbox.values())
        idle = time.perf_counter() - last
        if idle >= QUIET_S:
            return
        await asyncio.sleep(QUIET_S - idle + 0.01)


@dataclass
class Sent:
    k: int
    issued: float
    returned: float
    event_id: str
    error: str = ""


async def paced_sends(plan: list[tuple[Person, str, str]], window_s: float) -> list[Sent]:
    """Send plan[k] at start + k·window/len(plan), each as its own task, so slow sends overlap rather than queue."""
    start = time.perf_counter() + 0.05
    step = window_s / len(plan) if plan else 0.0

    async def one(k: int, who: Person, room: str, body: str) -> Sent:
        delay = start + k * step - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        issued = time.perf_counter()
        try:
            event_id = await who.send(room, body)
        except Exception as err:  # counted and reported; the run goes on
            return Sent(k, issued, time.perf_counter(), "", f"{type(err).__name__}: {err}"[:200])
        return Sent(k, issued, time.perf_counter(), event_id)

    return list(await asyncio.gather(*(one(k, *p) for k, p in enumerate(plan))))


async def sequential_sends(plan: list[tuple[Person, str, str]]) -> list[Sent]:
    """Each sender sends its own messages one after another; the senders run at once."""
    by_sender: dict[str, list[tuple[int, Person, str, str]]] = {}
    for k, (who, room, body) in enumerate(plan):
        by_sender.setdefault(who.user_id, []).append((k, who, room, body))

    async def run(items: list[tuple[int, Person, str, str]]) -> list[Sent]:
        out = []
        for k, who, room, body in items:
            issued = time.perf_counter()
            try:
                event_id = await who.send(room, body)
                out.append(Sent(k, issued, time.perf_counter(), event_id))
            except Exception as err:
                out.append(Sent(k, issued, time.perf_counter(), "", f"{type(err).__name__}: {err}"[:200]))
        return out

    results = await asyncio.gather(*(run(items) for items in by_sender.values()))
    return sorted((s for r in results for s in r), key=lambda s: s.k)


def send_figures(sends: list[Sent]) -> dict[str, Any]:
    return {
        "sent": sum(1 for s in sends if s.event_id),
        "send_errors": [s.error for s in sends if s.error][:5],
        "send_spread_ms": ms(max(s.issued for s in sends) - min(s.issued for s in sends)),
        "send_call": summary([s.returned - s.issued for s in sends]),
    }


# --- bot lifecycle -------------------------------------------------------------------------------------------------
async def start_bot(scene: Scene, step_wait_s: int) -> float:
    config = scene.configure(step_wait_s)
    if scene.bot is None:
        scene.bot = BotRunner(config)
    started = time.perf_counter()
    app = await scene.bot.start()
    took = time.perf_counter() - started
    scene.traffic.attach(app)
    return took


async def restart_with_traffic(scene: Scene, step_wait_s: int, room: str) -> dict[str, Any]:
    """Stop the bot; while it is down, and while it starts, the officers keep talking in the police room (plain
    messages, not commands), so its first sync after the restart has a gap."""
    assert scene.bot is not None
    await scene.bot.stop()
    n = scene.settings.chatter
    plan = [(scene.police[k % len(scene.police)], room, f"prat {k}, inget kommando") for k in range(n)]
    down = await sequential_sends(plan)
    trickling = True
    during: list[int] = []

    async def trickle() -> None:
        k = 0
        while trickling:
            try:
                await scene.police[k % len(scene.police)].send(room, f"prat under start {k}")
                during.append(k)
            except Exception:
                pass
            k += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(trickle())
    try:
        took = await start_bot(scene, step_wait_s)
    finally:
        trickling = False
        await task
    return {"messages_while_down": sum(1 for s in down if s.event_id), "messages_while_starting": len(during),
            "start_to_first_sync_done_ms": ms(took)}


async def close_alarms(scene: Scene, ids: list[str], settle: bool = True) -> dict[str, Any]:
    """chef.c (a supervisor) closes each alarm with `!klar Ln` in his room with the bot; waits for every answer."""
    chef, inbox = scene.chef, scene.inbox[scene.chef.user_id]
    mark = inbox.mark
    wanted = set(ids)
    gate = asyncio.Semaphore(8)
    started = time.perf_counter()

    async def one(alarm_id: str) -> None:
        async with gate:
            await chef.send(scene.chef_room, f"!klar {alarm_id}")

    results = await asyncio.gather(*(one(a) for a in ids), return_exceptions=True)

    def answered(a: Arrival) -> bool:
        found = CLOSED.search(a.body)
        return a.sender == BOT and a.room_id == scene.chef_room and found is not None and found.group(1) in wanted

    def closed_ids(found: list[Arrival]) -> set[str]:
        return {m.group(1) for a in found if (m := CLOSED.search(a.body))}

    found, _ = await inbox.until(mark, answered, lambda f: closed_ids(f) >= wanted, scene.settings.timeout_s)
    if settle:
        await quiet(scene)
    return {"closed": len(closed_ids(found)), "asked": len(ids),
            "send_errors": sum(isinstance(r, BaseException) for r in results),
            "seconds": round(time.perf_counter() - started, 2)}


# --- scenarios -----------------------------------------------------------------------------------------------------
async def floor(scene: Scene) -> dict[str, Any]:
    n = scene.settings.burst
    senders = scene.police[: scene.settings.senders]
    anna = scene.inbox[scene.anna.user_id]
    plan = [(senders[k % len(senders)], scene.floor_room, f"golv-{k}.") for k in range(n)]
    wanted = {f"golv-{k}." for k in range(n)}
    mark = anna.mark

    def ours(a: Arrival) -> bool:
        return a.room_id == scene.floor_room and a.body in wanted

    sends = await sequential_sends(plan)
    found, complete = await anna.until(mark, ours, lambda f: {a.body for a in f} >= wanted, scene.settings.timeout_s)
    t0 = min(s.issued for s in sends)
    last_send = max(s.returned for s in sends)
    last = max((a.at for a in found), default=t0)
    return {
        "messages": n, "senders": len(senders), "received": len({a.body for a in found}), "complete": complete,
        "first_send_to_last_received_ms": ms(last - t0),
        "first_send_to_last_send_returned_ms": ms(last_send - t0),
        "last_send_returned_to_last_received_ms": ms(last - last_send),
        **send_figures(sends),
    }


async def ordered_floor(scene: Scene, room: str = "") -> dict[str, Any]:
    """The burst's traffic between plain clients, keeping order per room as every Matrix client does.

    The officers send n messages over the burst window into `room` (the floor room unless given: after the history,
    the history room, because the homeserver is slower in a room with a long history, for everyone); meanwhile one
    plain client (the relay) sends n messages one after another into its room with anna.a and n one after another
    into `room`, as the bot sends its pages and its acknowledgements. One message to a room at a time is what keeps a
    room's messages in order (matrix-js-sdk queues a room's messages the same way), so this is what the homeserver
    can carry for the bot: the floor the burst target is measured against.
    """
    assert scene.relay is not None
    n, window = scene.settings.burst, scene.settings.window_s
    senders = scene.police[: scene.settings.senders]
    anna = scene.inbox[scene.anna.user_id]
    relay = scene.relay
    room = room or scene.floor_room
    officers = [(senders[k % len(senders)], room, f"ordnat-{k}.") for k in range(n)]
    wanted = {f"sida-{k}." for k in range(n)}
    mark = anna.mark

    def ours(a: Arrival) -> bool:
        return a.room_id == scene.relay_room and a.body in wanted

    async def serially(room: str, prefix: str) -> list[Sent]:
        return await sequential_sends([(relay, room, f"{prefix}-{k}.") for k in range(n)])

    t0 = time.perf_counter()
    sends, pages, acks = await asyncio.gather(
        paced_sends(officers, window), serially(scene.relay_room, "sida"), serially(room, "kvitto"))
    found, complete = await anna.until(mark, ours, lambda f: {a.body for a in f} >= wanted, scene.settings.timeout_s)
    last_officer = max(s.returned for s in sends)
    last = max((a.at for a in found), default=t0)
    return {
        "messages": 3 * n, "received": len({a.body for a in found}), "complete": complete,
        "first_send_to_last_received_ms": ms(last - t0),
        "last_send_to_last_received_ms": ms(last - last_officer),
        "relay_send_call": summary([s.returned - s.issued for s in pages + acks]),
        **send_figures(sends),
    }


async def burst(scene: Scene, label: str, room: str) -> tuple[dict[str, Any], list[str]]:
    n, window = scene.settings.burst, scene.settings.window_s
    officers = scene.police[: scene.settings.senders]
    anna, bertil, chef, observer = (scene.inbox[p.user_id] for p in (scene.anna, scene.bertil, scene.chef,
                                                                     scene.police[0]))
    marks = {i: i.mark for i in (anna, bertil, chef, observer)}
    marker = re.compile(rf"\b{label}-(\d+)\.")
    plan = [(officers[k % len(officers)], room, f"!larm Farsta {label}-{k}. kort text") for k in range(n)]
    before = scene.traffic.snapshot()

    def page(a: Arrival) -> bool:
        return a.pages(scene.anna.user_id) and marker.search(a.body) is not None

    sends = await paced_sends(plan, window)
    larms = {s.event_id: s for s in sends if s.event_id}

    def ack(a: Arrival) -> bool:
        return a.sender == BOT and a.room_id == room and "registrerat" in a.body and a.reply_to in larms

    def all_marked(found: list[Arrival]) -> bool:
        return len({m.group(1) for a in found if (m := marker.search(a.body))}) >= len(larms)

    timeout = scene.settings.timeout_s
    started = time.monotonic()
    pages, pages_complete = await anna.until(marks[anna], page, all_marked, timeout)
    acks, acks_complete = await observer.until(
        marks[observer], ack, lambda f: len({a.reply_to for a in f}) >= len(larms),
        max(1.0, timeout - (time.monotonic() - started)),
    )
    traffic = scene.traffic.since(before)
    await asyncio.sleep(1.0)  # a late duplicate or a stray page would show now
    pages = anna.since(marks[anna], page)
    acks = observer.since(marks[observer], ack)

    t0 = min(s.issued for s in sends)
    last_send = max(s.returned for s in sends)
    first_page = {}
    for a in pages:
        k = int(marker.search(a.body).group(1))  # type: ignore[union-attr]
        first_page.setdefault(k, a)
    first_ack = {}
    for a in acks:
        first_ack.setdefault(a.reply_to, a)
    alarm_ids = sorted({a.alarm_id for a in acks} | {a.alarm_id for a in pages}, key=lambda i: int(i[1:]))
    pages_per_alarm = Counter(a.alarm_id for a in pages)
    pages_per_marker = Counter(int(marker.search(a.body).group(1)) for a in pages)  # type: ignore[union-attr]
    last_page = max((a.at for a in first_page.values()), default=t0)
    last_ack = max((a.at for a in first_ack.values()), default=t0)
    others = {
        "bertil.b": len(bertil.since(marks[bertil], lambda a: a.pages(scene.bertil.user_id))),
        "chef.c": len(chef.since(marks[chef], lambda a: a.pages(scene.chef.user_id))),
    }
    figures = {
        "alarms_sent": len(larms),
        **send_figures(sends),
        "first_send_to_last_page_ms": ms(last_page - t0),
        "last_send_to_last_page_ms": ms(last_page - last_send),
        "first_send_to_last_ack_ms": ms(last_ack - t0),
        "last_send_to_last_ack_ms": ms(last_ack - last_send),
        "page_latency": summary([first_page[s.k].at - s.issued for s in sends if s.k in first_page]),
        "ack_latency": summary([first_ack[e].at - s.issued for e, s in larms.items() if e in first_ack]),
        "complete": pages_complete and acks_complete,
        "checks": {
            "alarms_registered": len({a.alarm_id for a in acks}),
            "alarms_paged": len(pages_per_alarm),
            "alarms_paged_exactly_once": sum(1 for c in pages_per_alarm.values() if c == 1),
            "alarms_paged_more_than_once": sum(1 for c in pages_per_alarm.values() if c > 1),
            "messages_paged_more_than_once": sum(1 for c in pages_per_marker.values() if c > 1),
            "messages_never_paged": len(larms) - len(pages_per_marker),
            "acks_more_than_once": len(acks) - len(first_ack),
            "others_paged": others,
        },
        "bot_traffic": traffic,
    }
    checks = figures["checks"]
    checks["ok"] = (checks["alarms_paged_exactly_once"] == len(larms) == n and checks["alarms_registered"] == n
                    and not checks["alarms_paged_more_than_once"] and not checks["messages_paged_more_than_once"]
                    and not any(others.values()))
    return figures, alarm_ids


async def lateness(scene: Scene, label: str, room: str) -> tuple[dict[str, Any], list[str]]:
    n, spread, wait = scene.settings.lateness, scene.settings.spread_s, scene.step_wait_s
    officers = scene.police[: scene.settings.senders]
    anna, bertil = scene.inbox[scene.anna.user_id], scene.inbox[scene.bertil.user_id]
    marks = {i: i.mark for i in (anna, bertil)}
    marker = re.compile(rf"\b{label}-(\d+)\.")
    plan = [(officers[k % len(officers)], room, f"!larm Farsta {label}-{k}. kort text") for k in range(n)]
    before = scene.traffic.snapshot()
    sends = await paced_sends(plan, spread)
    sent = sum(1 for s in sends if s.event_id)

    def page(a: Arrival) -> bool:
        return a.pages(scene.anna.user_id) and marker.search(a.body) is not None

    pages, _ = await anna.until(marks[anna], page, lambda f: len({a.alarm_id for a in f}) >= sent,
                                scene.settings.timeout_s)
    first: dict[str, float] = {}
    issued = {s.k: s.issued for s in sends}
    raised: dict[str, float] = {}  # alarm id → when its !larm was sent
    for a in pages:
        if a.alarm_id not in first:
            first[a.alarm_id] = a.at
            raised[a.alarm_id] = issued[int(marker.search(a.body).group(1))]  # type: ignore[union-attr]
    ids = set(first)

    def escalated(a: Arrival) -> bool:
        return a.pages(scene.bertil.user_id) and a.alarm_id in ids

    esc, complete = await bertil.until(marks[bertil], escalated, lambda f: {a.alarm_id for a in f} >= ids,
                                       wait + spread + scene.settings.timeout_s)
    second: dict[str, float] = {}
    for a in esc:
        second.setdefault(a.alarm_id, a.at)
    late = [second[i] - first[i] - wait for i in ids if i in second]
    late_vs_send = [second[i] - raised[i] - wait for i in ids if i in second]
    at_bot = bot_lateness(scene, ids, wait)
    raise_spread = max(first.values()) - min(first.values()) if first else 0.0
    figures = {
        "alarms_sent": sent,
        "step_wait_s": wait,
        "first_pages_received": len(first),
        "escalation_pages_received": len(second),
        "first_pages_spread_over_ms": ms(raise_spread),
        "lateness": summary(late),
        "bot_lateness": summary(at_bot),
        "escalation_after_send_minus_wait": summary(late_vs_send),
        "first_page_latency": summary([first[i] - raised[i] for i in ids]),
        "complete": complete and len(first) == n,
        "bot_traffic": scene.traffic.since(before),
        **send_figures(sends),
    }
    return figures, sorted(ids, key=lambda i: int(i[1:]))


def bot_lateness(scene: Scene, ids: set[str], wait: int) -> list[float]:
    """Escalation lateness as the bot itself records it: when the homeserver accepted bertil's page, minus the
    deadline, which is when it accepted anna's page plus the step wait. Read from the bot's database, read-only."""
    assert scene.bot is not None and scene.bot.app is not None
    path = scene.bot.app.store.db.path
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT purpose, sent_at FROM outbox WHERE purpose LIKE 'page:%' AND status = 'sent'")
        sent = {str(purpose): float(at) for purpose, at in rows}
    finally:
        conn.close()
    return [sent[f"page:{i}:1"] - sent[f"page:{i}:0"] - wait for i in ids
            if f"page:{i}:0" in sent and f"page:{i}:1" in sent]


async def build_history(scene: Scene, count: int, chunk: int = 60) -> dict[str, Any]:
    """Raise `count` alarms in the history room (the first officer, as fast as the bot takes them) and close each
    (chef.c), pipelined by chunk. The other officers join the room afterwards: their nine clients syncing every event
    would only make the homeserver, the bottleneck here, slower."""
    officers, observer, room = scene.police[:1], scene.observer, scene.history_room
    started = time.perf_counter()
    before = scene.traffic.snapshot()
    segments: list[dict[str, Any]] = []
    segment_start, segment_raised = started, 0
    closing: asyncio.Task[dict[str, Any]] | None = None
    raised = closed = 0
    k = 0
    while k < count:
        size = min(chunk, count - k)
        plan = [(officers[j % len(officers)], room, f"!larm Farsta arkiv-{k + j}.") for j in range(size)]
        mark = observer.mark
        sends = await sequential_sends(plan)
        larms = {s.event_id for s in sends if s.event_id}

        def ack(a: Arrival, larms: set[str] = larms) -> bool:
            return a.sender == BOT and a.room_id == room and "registrerat" in a.body and a.reply_to in larms

        acks, _ = await observer.until(mark, ack, lambda f, n=len(larms): len({a.reply_to for a in f}) >= n,
                                       scene.settings.timeout_s)
        ids = sorted({a.alarm_id for a in acks})
        raised += len(ids)
        if closing is not None:
            closed += (await closing)["closed"]
        closing = asyncio.create_task(close_alarms(scene, ids, settle=False))
        k += size
        now = time.perf_counter()
        if raised - segment_raised >= 500 or k >= count:
            segments.append({"alarms": f"{segment_raised + 1}-{raised}",
                             "alarms_per_second": round((raised - segment_raised) / (now - segment_start), 1)})
            segment_start, segment_raised = now, raised
        elapsed = now - started
        scene.log(f"history: {raised}/{count} raised, {closed} closed, {elapsed:.0f} s ({raised / elapsed:.1f}/s)")
    if closing is not None:
        closed += (await closing)["closed"]
    await quiet(scene)
    took = time.perf_counter() - started
    lead = scene.police[0]
    limited = scene.limited()
    joining = scene.police[1:] + ([scene.relay] if scene.relay is not None else [])
    for other in joining:
        await lead.client.room_invite(room, other.user_id)  # a Person joins on invitation
    for other in joining:
        await lead.wait_joined(room, other.user_id, scene.settings.timeout_s)
    await asyncio.gather(*(p.send(room, "hej") for p in [lead, *joining]))  # each shares its room key
    await quiet(scene)
    scene.joins_limited += scene.limited() - limited
    return {"alarms_raised": raised, "alarms_closed": closed, "seconds": round(took, 1),
            "alarms_per_second": round(raised / took, 1) if took else None, "by_segment": segments,
            "bot_traffic": scene.traffic.since(before)}


async def big_room_setup(scene: Scene) -> dict[str, Any]:
    """Register the members, log each in once with its own E2EE client (device keys and one-time keys uploaded),
    join it to the big police room, and close the client again."""
    n = scene.settings.big_members
    gate = asyncio.Semaphore(8)
    started = time.perf_counter()

    async def register(i: int) -> str:
        async with gate:
            return await asyncio.to_thread(scene.synapse.register, f"medlem{i:03d}", PASSWORD)

    users = await asyncio.gather(*(register(i) for i in range(1, n + 1)))
    registered = time.perf_counter()

    async def enter(user_id: str) -> None:
        async with gate:
            store = scene.workdir / "members" / user_id.split(":")[0][1:]
            store.mkdir(parents=True, exist_ok=True)
            config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False, pickle_key="bench-only")
            client = AsyncClient(scene.synapse.url, user_id, store_path=str(store), config=config)
            try:
                resp = await client.login(PASSWORD, device_name="bench-member")
                if not isinstance(resp, LoginResponse):
                    raise RuntimeError(f"login of {user_id} failed: {resp}")
                await client.keys_upload()
                await client.join(scene.big_room)
            finally:
                await client.close()

    await asyncio.gather(*(enter(u) for u in users))
    joined = time.perf_counter()
    officer = scene.police[0]
    room_size = 0

    def everyone_in() -> bool:
        nonlocal room_size
        room = officer.client.rooms.get(scene.big_room)
        room_size = len(room.users) if room else 0
        return room_size >= n + 2

    await officer.wait_until(everyone_in, scene.settings.timeout_s)
    await quiet(scene)
    return {"members": room_size, "register_s": round(registered - started, 1),
            "login_keys_join_s": round(joined - registered, 1)}


async def one_alarm(scene: Scene, room: str, marker: str) -> tuple[float, float, str]:
    """One `!larm` by the first officer in `room`: seconds to the decrypted page at anna.a and to the decrypted
    acknowledgement at the officer; the alarm id."""
    officer = scene.police[0]
    anna, mine = scene.inbox[scene.anna.user_id], scene.inbox[officer.user_id]
    marks = (anna.mark, mine.mark)
    t0 = time.perf_counter()
    larm = await officer.send(room, f"!larm Farsta {marker} kort text")
    timeout = scene.settings.timeout_s
    page, ok_page = await anna.until(marks[0], lambda a: a.pages(scene.anna.user_id) and marker in a.body,
                                     bool, timeout)
    ack, ok_ack = await mine.until(marks[1], lambda a: a.sender == BOT and a.reply_to == larm
                                   and "registrerat" in a.body, bool, timeout)
    if not (ok_page and ok_ack):
        raise RuntimeError(f"alarm {marker} in {room}: page {ok_page}, acknowledgement {ok_ack} within {timeout} s")
    return page[0].at - t0, ack[0].at - t0, ack[0].alarm_id


async def flood(scene: Scene, workdir: Path, people: list[Person], count: int = 1000) -> dict[str, Any]:
    """A stranger's flood of commands in a room of their own, then one police alarm: how late is its page?"""
    stranger = await person(workdir, scene.synapse, "okand", people)
    await stranger.start()
    room = await create_room(stranger, [BOT], "främlingens rum")
    await stranger.wait_joined(room, BOT)
    baseline = [await one_alarm(scene, scene.police_room, f"före-flod-{k}.") for k in range(3)]
    await close_alarms(scene, [b[2] for b in baseline])
    inbox = Inbox(stranger)
    mark = inbox.mark
    started = time.perf_counter()
    sends = await paced_sends([(stranger, room, "!jour") for _ in range(count)], 4.0)
    flooded = time.perf_counter() - started
    page_s, ack_s, alarm = await one_alarm(scene, scene.police_room, "efter-flod.")
    await close_alarms(scene, [alarm])
    await asyncio.sleep(QUIET_S)
    answers = len(inbox.since(mark, lambda a: a.sender == BOT and a.room_id == room))
    return {
        "commands": count, "sent_in_s": round(flooded, 2), "send_errors": sum(1 for s in sends if s.error),
        "answers_to_the_stranger": answers,
        "page_ms_before": [ms(b[0]) for b in baseline], "page_ms_after_flood": ms(page_s),
        "ack_ms_after_flood": ms(ack_s),
    }


async def big_room(scene: Scene, warmup: int = 2) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {r: {"page": [], "ack": []} for r in ("small", "big")}
    warm: list[dict[str, Any]] = []
    for i in range(warmup + scene.settings.big_alarms):
        for key, room in (("small", scene.small_room), ("big", scene.big_room)):
            await asyncio.sleep(0.1)
            page, ack, alarm_id = await one_alarm(scene, room, f"{key}-{i}.")
            if i < warmup:
                warm.append({"room": key, "page_ms": ms(page), "ack_ms": ms(ack)})
            else:
                samples[key]["page"].append(page)
                samples[key]["ack"].append(ack)
            await close_alarms(scene, [alarm_id], settle=False)
            await quiet(scene, 10)
    figures: dict[str, Any] = {r: {k: summary(v) for k, v in s.items()} for r, s in samples.items()}
    for kind in ("page", "ack"):
        small, big = figures["small"][kind]["median_ms"], figures["big"][kind]["median_ms"]
        figures[f"{kind}_ratio_big_to_small"] = round(big / small, 2) if small else None
    figures["warmup"] = warm
    return figures


# --- the run -------------------------------------------------------------------------------------------------------
async def measure(synapse: Synapse, workdir: Path, settings: Settings) -> dict[str, Any]:
    mark_measuring()
    people: list[Person] = []
    scene: Scene | None = None
    out: dict[str, Any] = {}
    chosen = set(settings.scenarios)
    try:
        started = time.perf_counter()
        police = [await person(workdir, synapse, f"polis{i:02d}", people) for i in range(1, settings.senders + 1)]
        anna, bertil, chef = [await person(workdir, synapse, name, people) for name in ("anna.a", "bertil.b", "chef.c")]
        counts = {p.user_id: widen_timeline(p) for p in people}
        await asyncio.gather(*(p.start() for p in people))
        inbox = {p.user_id: Inbox(p) for p in people}
        lead = police[0]
        police_room = await create_room(lead, [BOT] + [p.user_id for p in police[1:]], "polisrum")
        chef_room = await create_room(chef, [BOT], "chef och jourbot")
        scene = Scene(synapse, workdir, settings, police, anna, bertil, chef, inbox, counts, police_room, chef_room)
        if "floor" in chosen or "burst" in chosen:
            scene.relay = await person(workdir, synapse, "relay", people)
            await scene.relay.start()
            scene.floor_room = await create_room(
                lead, [anna.user_id, scene.relay.user_id] + [p.user_id for p in police[1:]], "golv")
            scene.relay_room = await create_room(scene.relay, [anna.user_id], "relä och anna")
        if "history" in chosen:
            scene.history_room = await create_room(lead, [BOT], "polisrum med historik")
        if "bigroom" in chosen:
            scene.small_room = await create_room(lead, [BOT], "litet polisrum")
            scene.big_room = await create_room(lead, [BOT], "stort polisrum", public=True)
        for p in police[1:]:
            await lead.wait_joined(police_room, p.user_id)
            if scene.floor_room:
                await lead.wait_joined(scene.floor_room, p.user_id)
        if scene.floor_room and scene.relay is not None:
            await lead.wait_joined(scene.floor_room, anna.user_id)
            await lead.wait_joined(scene.floor_room, scene.relay.user_id)
            await scene.relay.wait_joined(scene.relay_room, anna.user_id)
        await start_bot(scene, 600)
        for room in scene.rooms():
            await lead.wait_joined(room, BOT)
        await chef.wait_joined(chef_room, BOT)
        # Warm-up: every officer shares its room keys; the first alarm makes anna.a's direct room with the bot.
        await asyncio.gather(*(p.send(police_room, "hej") for p in police))
        if scene.floor_room and scene.relay is not None:
            await asyncio.gather(*(p.send(scene.floor_room, "hej") for p in police), anna.send(scene.floor_room, "hej"),
                                 scene.relay.send(scene.floor_room, "hej"), scene.relay.send(scene.relay_room, "hej"))
        _, _, first = await one_alarm(scene, police_room, "uppvärmning.")
        # anna.a declines it, so bertil.b is paged too: the first page to a person makes their direct room with the
        # bot (a few hundred ms, once per person ever); the lateness runs measure escalations, not first contacts.
        bertil_inbox = scene.inbox[bertil.user_id]
        mark = bertil_inbox.mark
        page = next(a for a in reversed(scene.inbox[anna.user_id].arrivals) if a.pages(anna.user_id))
        await anna.send(page.room_id, f"!nej {first}")
        _, reached = await bertil_inbox.until(mark, lambda a: a.pages(bertil.user_id), bool, settings.timeout_s)
        if not reached:
            raise RuntimeError("the warm-up escalation never reached bertil.b")
        await close_alarms(scene, [first])
        # Joining a room makes the next sync's timeline of it "limited"; only later ones would mean a skipped message.
        scene.joins_limited = scene.limited()
        out["setup_s"] = round(time.perf_counter() - started, 1)
        scene.log(f"set up in {out['setup_s']} s")

        if "floor" in chosen or "burst" in chosen:
            out["floor"] = await floor(scene)
            await quiet(scene)
            scene.log(f"floor: {out['floor']['first_send_to_last_received_ms']} ms")
            out["ordered_floor"] = await ordered_floor(scene)
            await quiet(scene)
            scene.log(f"ordered floor: last relay message {out['ordered_floor']['last_send_to_last_received_ms']} ms"
                      " after the officers' last send")
        if "burst" in chosen:
            restart = await restart_with_traffic(scene, 600, police_room)
            figures, ids = await burst(scene, "tom", police_room)
            out["burst"] = {**figures, "restart_before": restart, "closing": await close_alarms(scene, ids)}
            scene.log(f"burst: last page {figures['last_send_to_last_page_ms']} ms after the last send")
        if "bigroom" in chosen:
            setup = await big_room_setup(scene)
            scene.log(f"big room: {setup}")
            out["bigroom"] = {"setup": setup, **await big_room(scene)}
            scene.log("big room measured")
        if "flood" in chosen:
            out["flood"] = await flood(scene, workdir, people)
            scene.log(f"flood: {out['flood']}")
        if "lateness" in chosen:
            restart = await restart_with_traffic(scene, settings.step_wait_s, police_room)
            figures, ids = await lateness(scene, "sen", police_room)
            out["lateness"] = {**figures, "restart_before": restart, "closing": await close_alarms(scene, ids)}
            scene.log(f"lateness: {figures['lateness']}")
        if "history" in chosen:
            history: dict[str, Any] = {}
            assert scene.bot is not None
            await scene.bot.stop()
            await start_bot(scene, 600)
            history["build"] = await build_history(scene, settings.history)
            if scene.floor_room:
                history["floor"] = await floor(scene)
                await quiet(scene)
                history["ordered_floor"] = await ordered_floor(scene, scene.history_room)
                await quiet(scene)
            restart = await restart_with_traffic(scene, 600, scene.history_room)
            figures, ids = await burst(scene, "hb", scene.history_room)
            history["burst"] = {**figures, "restart_before": restart, "closing": await close_alarms(scene, ids)}
            scene.log(f"history burst: last page {figures['last_send_to_last_page_ms']} ms after the last send")
            restart = await restart_with_traffic(scene, settings.step_wait_s, scene.history_room)
            figures, ids = await lateness(scene, "hsen", scene.history_room)
            history["lateness"] = {**figures, "restart_before": restart, "closing": await close_alarms(scene, ids)}
            scene.log(f"history lateness: {figures['lateness']}")
            out["history"] = history
        out["client_limited_timelines"] = dict(scene.limited() - scene.joins_limited)
        out["total_s"] = round(time.perf_counter() - started, 1)
        return out
    finally:
        if scene is not None and scene.bot is not None:
            await scene.bot.stop()
        for someone in people:
            await someone.stop()


# --- figures beside targets ----------------------------------------------------------------------------------------
def verdicts(out: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(name: str, value: float | None, target: str, met: bool | None) -> None:
        rows.append({"figure": name, "value": value, "target": target, "met": met})

    # The floor is the same traffic between plain clients, sent in order per room (see ordered_floor), measured as the
    # burst is: from the officers' last send to the last message at anna.a.
    for key, label in (("burst", "empty store"), ("history", "history")):
        b = out.get(key, {}) if key == "burst" else out.get(key, {}).get("burst", {})
        # Each burst against the ordered floor measured beside it: the history's in the history room.
        floor_ms = (out if key == "burst" else out.get(key, {})).get("ordered_floor", {}).get(
            "last_send_to_last_received_ms")
        limit_ms = max(2000.0, 1.5 * floor_ms) if floor_ms is not None else 2000.0
        rule = f"≤ {limit_ms:.0f} ms (2 s, or 1.5 × the ordered floor if the homeserver is slower)"
        if b:
            v = b["last_send_to_last_page_ms"]
            row(f"burst ({label}): last page after the last send", v, rule, v <= limit_ms and b["complete"])
            row(f"burst ({label}): every alarm paged once, nobody else", None, "all checks pass", b["checks"]["ok"])
    for key, label in (("lateness", "empty store"), ("history", "history")):
        lat = out.get(key, {}) if key == "lateness" else out.get(key, {}).get("lateness", {})
        if lat and lat["bot_lateness"].get("n"):
            # As the issue defines it: page sent − deadline, from the bot's own records. Early counts as much as
            # late: an escalation before anna.a had her full wait is no better.
            v = max(abs(lat["bot_lateness"]["max_ms"]), abs(lat["bot_lateness"]["min_ms"]))
            row(f"escalation lateness ({label}), page sent − deadline, largest of {lat['bot_lateness']['n']}", v,
                "≤ 200 ms", v <= 200 and lat["complete"])
    empty, hist = out.get("burst"), out.get("history", {})
    pairs = []
    floors = (out.get("ordered_floor", {}).get("last_send_to_last_received_ms"),
              hist.get("ordered_floor", {}).get("last_send_to_last_received_ms"))
    if empty and hist.get("burst") and floors[0] and floors[1]:
        # The homeserver itself slows as its database grows; what must not grow is the bot's part. So the burst is
        # compared as a multiple of the ordered floor measured beside it, before and after the history.
        for fig in ("last_send_to_last_page_ms", "last_send_to_last_ack_ms"):
            before, after = empty[fig] / floors[0], hist["burst"][fig] / floors[1]
            ok = after - before <= 0.2 * before
            row(f"history vs empty: burst {fig} ÷ ordered floor", round(after, 2),
                f"≤ {before:.2f} + 20 % (empty store)", ok)
    key = "bot_lateness"
    if out.get("lateness", {}).get(key, {}).get("n") and hist.get("lateness", {}).get(key, {}).get("n"):
        for fig in ("median_ms", "p95_ms", "max_ms"):
            pairs.append((f"lateness {fig}", out["lateness"][key][fig], hist["lateness"][key][fig]))
    for name, before, after in pairs:
        # History must not cost: at most 20 % (or, near zero where a ratio means nothing, 50 ms) above the
        # empty-store figure. Lower is shown but not held against it: that is noise, or the empty run's first contacts.
        ok = after - before <= max(0.2 * abs(before), 50.0)
        way = "" if abs(after - before) <= max(0.2 * abs(before), 50.0) else (
            " (history higher)" if after > before else " (history lower)")
        row(f"history vs empty: {name}", after, f"≤ {before:.0f} ms + 20 % (or + 50 ms){way}", ok)
    fl = out.get("flood")
    if fl:
        delay = fl["page_ms_after_flood"] - statistics.median(fl["page_ms_before"])
        row("flood: a police page right after 1,000 stranger commands, later than without", round(delay, 1),
            "< 1000 ms", delay < 1000)
    big = out.get("bigroom")
    if big:
        for kind, label in (("page", "page latency"), ("ack", "police reply latency")):
            v = big["big"][kind].get("median_ms")
            small = big["small"][kind].get("median_ms")
            row(f"big room {label}, median", v, f"≤ 2 × small room ({small} ms)", v is not None and small is not None
                and v <= 2 * small)
    return rows


def stat_line(label: str, s: dict[str, Any]) -> str:
    if not s.get("n"):
        return f"  {label:44} no samples"
    return (f"  {label:44} median {s['median_ms']:8.1f}  p95 {s['p95_ms']:8.1f}  max {s['max_ms']:8.1f}  "
            f"min {s['min_ms']:8.1f} ms  (n={s['n']})")


def traffic_lines(t: dict[str, Any]) -> list[str]:
    if not t:
        return []
    secs = ", ".join(f"{k} {v:.2f}" for k, v in list(t["seconds"].items())[:6])
    reqs = ", ".join(f"{k} {v}" for k, v in t["requests"].items())
    return [f"  bot while measured: {t['limited_timelines']} limited timelines; requests: {reqs}",
            f"  bot seconds in: {secs}"]


def print_text(figures: dict[str, Any]) -> None:
    env, s, out = figures["environment"], figures["settings"], figures["results"]
    print(f"jourbot alarm burst: Python {env['python']}, matrix-nio {env['matrix_nio']}, Synapse {env['synapse']}"
          f" (SQLite, 127.0.0.1), {env['platform']}\ncode: {env['code']}\nload average (1, 5, 15 min) before"
          f" {env['load_average_before']}, after {env['load_average_after']}: other work on the machine skews figures")
    print(f"settings: {json.dumps(s, ensure_ascii=False)}")
    print(f"set-up {out.get('setup_s')} s, whole run {out.get('total_s')} s; limited /sync timelines at our clients"
          f" after set-up: {out.get('client_limited_timelines') or 'none'} (joining a room, such as a new direct room"
          " from the bot, gives one; the checks below count what arrived)\n")
    if "floor" in out:
        f = out["floor"]
        print(f"1. floor: {f['messages']} encrypted messages, {f['senders']} senders → anna.a, no bot"
              f" ({f['received']} received)")
        print(f"  first send → last received {f['first_send_to_last_received_ms']:.1f} ms;"
              f" last send returned at {f['first_send_to_last_send_returned_ms']:.1f} ms,"
              f" last received {f['last_send_returned_to_last_received_ms']:.1f} ms after it")
    if "ordered_floor" in out:
        f = out["ordered_floor"]
        print(f"1b. ordered floor: the burst's {f['messages']} messages between plain clients, in order per room"
              f" ({f['received']} of the relay's messages to anna.a received)")
        print(f"  officers' last send → the relay's last message at anna.a {f['last_send_to_last_received_ms']:.1f} ms"
              f" (first send → {f['first_send_to_last_received_ms']:.1f} ms);"
              f" relay's send calls median {f['relay_send_call'].get('median_ms')} ms")
    for title, b in (("2. burst, empty store", out.get("burst")),
                     ("4a. burst with history", out.get("history", {}).get("burst"))):
        if not b:
            continue
        r = b["restart_before"]
        print(f"\n{title}: {b['alarms_sent']} !larm from {s['senders']} officers over {b['send_spread_ms']:.0f} ms"
              f" (after a restart: {r['messages_while_down']} messages while down,"
              f" {r['messages_while_starting']} while starting, start → first sync done"
              f" {r['start_to_first_sync_done_ms']:.0f} ms)")
        print(f"  first send → last page at anna.a     {b['first_send_to_last_page_ms']:9.1f} ms"
              f"   (last send → last page {b['last_send_to_last_page_ms']:.1f} ms)")
        print(f"  first send → last 'registrerat'      {b['first_send_to_last_ack_ms']:9.1f} ms"
              f"   (last send → last ack {b['last_send_to_last_ack_ms']:.1f} ms)")
        print(stat_line("per alarm: its send → its page", b["page_latency"]))
        print(stat_line("per alarm: its send → its acknowledgement", b["ack_latency"]))
        print(stat_line("officers' send calls", b["send_call"]))
        c = b["checks"]
        print(f"  checks: {c['alarms_registered']} registered, {c['alarms_paged_exactly_once']} paged exactly once,"
              f" {c['alarms_paged_more_than_once']} more than once, {c['messages_never_paged']} never paged,"
              f" {c['acks_more_than_once']} duplicate acks; others paged {c['others_paged']} →"
              f" {'OK' if c['ok'] else 'NOT OK'}" + ("" if b["complete"] else " (timed out waiting)"))
        if b["send_errors"]:
            print(f"  send errors: {b['send_errors']}")
        for line in traffic_lines(b["bot_traffic"]):
            print(line)
    for title, lat in (("3. escalation lateness, empty store", out.get("lateness")),
                       ("4b. escalation lateness with history", out.get("history", {}).get("lateness"))):
        if not lat:
            continue
        print(f"\n{title}: {lat['alarms_sent']} alarms, first pages spread over"
              f" {lat['first_pages_spread_over_ms']:.0f} ms, step wait {lat['step_wait_s']} s;"
              f" {lat['escalation_pages_received']}/{lat['first_pages_received']} escalations reached bertil.b")
        print(stat_line("at the bot: bertil's page sent − deadline", lat["bot_lateness"]))
        print(stat_line("at the clients: bertil's page − anna's page − step wait", lat["lateness"]))
        print(stat_line("(context) its !larm → anna's page", lat["first_page_latency"]))
        print(stat_line("(context) bertil's page − its !larm − step wait", lat["escalation_after_send_minus_wait"]))
        if lat["lateness"].get("n") and lat["lateness"]["median_ms"] < -50:
            print("  (negative: anna.a's first page was itself late, so bertil.b was paged less than a step wait"
                  " after anna.a could see hers)")
        for line in traffic_lines(lat["bot_traffic"]):
            print(line)
    if "history" in out:
        h = out["history"]["build"]
        print(f"\n4. history built: {h['alarms_raised']} alarms raised, {h['alarms_closed']} closed in"
              f" {h['seconds']} s ({h['alarms_per_second']}/s; by segment: "
              + ", ".join(f"{g['alarms']} {g['alarms_per_second']}/s" for g in h["by_segment"]) + ")")
        for line in traffic_lines(h["bot_traffic"]):
            print(line)
        if "floor" in out["history"]:
            f = out["history"]["floor"]
            print(f"  floor again after the history (no bot; a check on the homeserver and clients):"
                  f" first send → last received {f['first_send_to_last_received_ms']:.1f} ms"
                  f" ({f['received']}/{f['messages']})")
        if "ordered_floor" in out["history"]:
            f = out["history"]["ordered_floor"]
            print(f"  ordered floor again, in the history room: officers' last send → relay's last message at anna.a"
                  f" {f['last_send_to_last_received_ms']:.1f} ms")
    if "flood" in out:
        f = out["flood"]
        print(f"\n6. flood: {f['commands']} commands from someone with no role in {f['sent_in_s']} s"
              f" ({f['send_errors']} refused by the homeserver); the bot answered them {f['answers_to_the_stranger']}"
              f" time(s); a police alarm right after: page {f['page_ms_after_flood']} ms (without a flood:"
              f" {', '.join(str(v) for v in f['page_ms_before'])} ms), acknowledgement {f['ack_ms_after_flood']} ms")
    if "bigroom" in out:
        b = out["bigroom"]
        print(f"\n5. big room: {b['setup']['members']} members (registered in {b['setup']['register_s']} s, logged in,"
              f" keys uploaded and joined in {b['setup']['login_keys_join_s']} s) vs a 2-member room")
        for key, label in (("small", "small room"), ("big", "big room")):
            print(stat_line(f"{label}: !larm → page at anna.a", b[key]["page"]))
            print(stat_line(f"{label}: !larm → 'registrerat' at the officer", b[key]["ack"]))
        print("  warm-up (not counted): " + "; ".join(f"{w['room']} page {w['page_ms']:.0f} ms, ack {w['ack_ms']:.0f}"
                                                      f" ms" for w in b["warmup"]))
    print("\nfigure beside target:")
    for v in figures["targets"]:
        verdict = {True: "met", False: "NOT met", None: "—"}[v["met"]]
        ratio = "÷" in v["figure"]
        value = "" if v["value"] is None else (f"{v['value']:.2f} ×" if ratio else f"{v['value']:.1f} ms")
        print(f"  {v['figure']:58} {value:>11}   target {v['target']}: {verdict}")


def settings_from(args: argparse.Namespace) -> Settings:
    quick = args.quick
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")

    def pick(value: Any, normal: Any, fast: Any) -> Any:
        return value if value is not None else (fast if quick else normal)

    return Settings(
        scenarios=[s for s in SCENARIOS if s in scenarios],
        burst=pick(args.burst, 100, 100),
        senders=args.senders,
        window_s=args.window,
        lateness=pick(args.lateness, 50, 20),
        spread_s=pick(args.spread, 10.0, 5.0),
        step_wait_s=pick(args.step_wait, 12, 8),
        history=pick(args.history, 2000, 300),
        chatter=args.chatter,
        big_members=pick(args.big_members, 150, 50),
        big_alarms=pick(args.big_alarms, 10, 5),
        timeout_s=args.timeout,
        quiet=args.json,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes: lateness 20 alarms over 5 s with an 8 s wait; history 300;"
                        " big room 50 members, 5 alarms")
    parser.add_argument("--burst", type=int, help="alarms in the burst, and messages in the floor (100)")
    parser.add_argument("--senders", type=int, default=10, help="police accounts (10)")
    parser.add_argument("--window", type=float, default=1.0, help="the burst is sent evenly over this many seconds (1)")
    parser.add_argument("--lateness", type=int, help="alarms open at once for the lateness figures (50)")
    parser.add_argument("--spread", type=float, help="they are raised evenly over this many seconds (10)")
    parser.add_argument("--step-wait", type=int, help="step wait in the lateness scenario, seconds (12)")
    parser.add_argument("--history", type=int, help="finished alarms in the police room before scenario 4 (2000)")
    parser.add_argument("--chatter", type=int, default=40, help="messages sent while the bot is down (40)")
    parser.add_argument("--big-members", type=int, help="members of the big police room (150)")
    parser.add_argument("--big-alarms", type=int, help="counted alarms per room in the big-room scenario (10)")
    parser.add_argument("--timeout", type=float, default=180.0, help="longest wait for any one step, seconds (180)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    args = parser.parse_args()
    settings = settings_from(args)
    if settings.senders < 1 or settings.burst < 1:
        parser.error("--senders and --burst must be at least 1")
    if settings.step_wait_s <= settings.spread_s and "lateness" in settings.scenarios:
        print("note: a step wait no longer than the spread lets escalations overlap new alarms", file=sys.stderr)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # nio warns about every first key share, and the bot logs each alarm: expected here, not news.
    logging.getLogger("nio").setLevel(logging.ERROR)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)

    announce = None if args.json else f"scenarios {', '.join(settings.scenarios)}"
    results, env = with_synapse("jourbot-burst-", announce, PASSWORD,
                                lambda synapse, workdir: measure(synapse, workdir, settings))
    figures = {"environment": env, "settings": settings.__dict__, "results": results, "targets": verdicts(results)}
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print_text(figures)


if __name__ == "__main__":
    main()
