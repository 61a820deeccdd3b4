"""The samples of bench/alarm_latency.py: a plain message, an alarm's page, and its acceptance reaching the police;
and the alarm's life after that, as in real use (README, "After acceptance")."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from latency_probes import ClientProbe, MeasuredBot, bot_path, put_milestones, sync_milestones
from stamps import BOT, PAGE_ID, Arrival, Inbox

from tests.harness.people import Person

# Lets every client finish what the previous sample set off (key upkeep, the bot's replies) and park in its long-poll.
SETTLE_S = 0.1
# Before a plain message, longer: what an alarm's close sets off at the homeserver and the clients (the bot's leave,
# membership and device-list upkeep) is over, so the message sees a quiet system, as without the bot.
PING_SETTLE_S = 0.25
TIMEOUT_S = 30.0
# What the responder reports in the alarm room, in order, and how each line to the police room begins.
PHASES = (("!påväg 15", "🚗 {id}:"), ("!framme", "📍 {id}:"), ("!skydd gjord plan", "🧒 {id}:"),
          ("!överlämnad Farsta", "📋 {id}:"), ("!klar", "☑️ {id} avslutat"))
FACTS = re.compile(r"🚨 (L\d+) —")  # the bot's first message in an alarm room
ROUND_SECONDS: Counter[str] = Counter()  # where a run's time goes, by part of a round


@dataclass
class Sample:
    kind: str  # "alone" (plain message, no bot running) | "plain" (the bot running) | "big" (plain message in the
    # big police room, police → a colleague; the bot running) | "page" | "ok"
    total: float  # seconds from just before the first send to the reader holding the decrypted message
    milestones: dict[str, float] = field(default_factory=dict)  # seconds since t0
    note: str = ""


@dataclass
class Scene:
    police: Person
    anna: Person
    police_inbox: Inbox
    anna_inbox: Inbox
    police_probe: ClientProbe
    anna_probe: ClientProbe
    floor_room: str
    police_room: str = ""  # where the alarms of the current setting are raised
    bot_probe: MeasuredBot | None = None
    colleague: Inbox | None = None  # another officer in the big police room, the reader of its plain messages


async def arrival(scene: Scene, expected: asyncio.Future[Arrival], what: str, larm: str = "") -> Arrival:
    """The expected arrival, or an error that says what the clients and the bot were at; for a page, what became of
    its `!larm` (the event id `larm`) and whether the responder's /sync carried the page."""
    try:
        return await asyncio.wait_for(expected, TIMEOUT_S)
    except TimeoutError:
        bot = await scene.bot_probe.state() if scene.bot_probe else "bot not running"
        if larm and scene.bot_probe:
            fate, page = await scene.bot_probe.page_of(larm)
            carried = page is not None and scene.anna_probe.carrying(page) is not None
            bot = f"{fate}{'; carried by a /sync of anna' if carried else ''}; {bot}"
        cut = {who: sum(probe.limited.values()) for who, probe in (("police", scene.police_probe),
                                                                    ("anna", scene.anna_probe))}
        raise RuntimeError(f"{what}: nothing within {TIMEOUT_S:.0f} s; undecryptable at the police"
                           f" {scene.police.undecryptable}, at anna {scene.anna.undecryptable}; limited /sync"
                           f" timelines (joins included) {cut}, most at anna {scene.anna_probe.limited.most_common(3)};"
                           f" {bot}") from None


async def ping(scene: Scene, n: int, kind: str, room: str = "") -> Sample:
    """A plain encrypted message police → responder in the room without the bot: one hop, the floor. With `room`
    (the big police room, whose every message costs the homeserver more), police → a colleague there: the floor of a
    hop in that room."""
    body = f"ping {kind} {n}"
    if room:
        assert scene.colleague is not None
        reader, probe, who = scene.colleague, ClientProbe.of(scene.colleague.person.client), "colleague"
    else:
        reader, probe, who = scene.anna_inbox, scene.anna_probe, "anna"
    room = room or scene.floor_room
    await asyncio.sleep(PING_SETTLE_S)
    expected = reader.expect(lambda a: a.room_id == room and a.body == body)
    t0 = time.perf_counter()
    await scene.police.send(room, body)
    sent = time.perf_counter()
    got = await arrival(scene, expected, f"plain message {body!r}")
    ROUND_SECONDS["plain message"] += time.perf_counter() - t0 + PING_SETTLE_S
    puts, note = put_milestones(scene.police_probe, "police", t0, sent, t0)
    milestones = {**puts, "police: send returned": sent - t0, **sync_milestones(probe, who, got.event_id, t0)}
    echo = scene.police_probe.carrying(got.event_id)  # the sender's own sync brings it back too
    if echo is not None:
        milestones["police: its message back in its /sync"] = echo.answered - t0
    notes = [note] + [f"{who} had {', '.join(kinds)} under way"
                      for who, kinds in clients_beside(scene, t0, sent, got.at)]
    if kind != "alone" and scene.bot_probe is not None:  # the message is not the bot's: was it busy all the same?
        notes.append(await bot_beside(scene.bot_probe, t0, got.at))
    return Sample(kind, got.at - t0, milestones, "; ".join(n for n in notes if n))


def clients_beside(scene: Scene, t0: float, sent: float, end: float) -> list[tuple[str, list[str]]]:
    """The clients' own requests from the settling before a plain message until it arrived, its own send aside:
    what the alarm before it may have left them doing."""
    out = []
    for who, probe in (("police", scene.police_probe), ("anna", scene.anna_probe)):
        kinds = sorted({r.kind for r in probe.overlapping(t0 - PING_SETTLE_S, end)
                        if not (who == "police" and r.kind == "send" and r.start >= t0 and r.end <= sent)})
        if kinds:
            out.append((who, kinds))
    return out


async def bot_beside(bot: MeasuredBot, start: float, end: float) -> str:
    """What the bot had under way at the homeserver between `start` and `end`, and the /syncs it was answered."""
    stamps = await bot.stamps(start - 1.0)
    requests = sorted({r.kind for r in stamps.client.overlapping(start, end)})
    syncs = [s for s in stamps.client.stamps if start <= s.answered <= end]
    said = ([f"requests {', '.join(requests)}"] if requests else []) + \
        ([f"{len(syncs)} /sync answered ({sum(len(s.event_ids) for s in syncs)} events)"] if syncs else [])
    return "beside it the bot had " + " and ".join(said) if said else ""


async def alarm(scene: Scene, n: int, first: bool) -> tuple[Sample, Sample]:
    """`!larm` → the responder holds the decrypted page; then `!ok` → the police hold "accepterat"; the alarm is then
    worked and closed in its room (see `work_and_close`). Two hops each."""
    assert scene.bot_probe is not None
    marker = f"mätning {n}."
    await asyncio.sleep(SETTLE_S)
    expected = scene.anna_inbox.expect(lambda a: a.pages(scene.anna.user_id) and marker in a.body)
    t0 = time.perf_counter()
    larm = await scene.police.send(scene.police_room, f"!larm Farsta {marker}")
    sent = time.perf_counter()
    page = await arrival(scene, expected, f"the page of {marker!r}", larm)
    found = PAGE_ID.search(page.body)
    if found is None:
        raise RuntimeError(f"a page without an alarm id: {page.body!r}")
    alarm_id = found.group(1)
    puts, police_note = put_milestones(scene.police_probe, "police", t0, sent, t0)
    steps, notes = bot_path(await scene.bot_probe.stamps(t0), larm, page.event_id, page.at, t0, "page")
    milestones = {**puts, "police: send returned": sent - t0, **steps,
                  **sync_milestones(scene.anna_probe, "anna", page.event_id, t0)}
    notes = ([police_note] if police_note else []) + notes
    if first:
        notes.insert(0, "first page: the bot may create the direct room")
    paged = Sample("page", page.at - t0, milestones, "; ".join(notes))
    started = time.perf_counter()
    ROUND_SECONDS["page"] += started - t0
    accepted = await accept(scene, alarm_id, larm, page)
    ROUND_SECONDS["accept"] += time.perf_counter() - started
    await work_and_close(scene, alarm_id)
    return paged, accepted


async def accept(scene: Scene, alarm_id: str, larm: str, page: Arrival) -> Sample:
    """The responder answers `!ok Ln` in her direct room once the bot has sent what the page set off (as a person
    reads first); timed until the police hold the bot's "Ln accepterat av …" reply to their `!larm`."""
    assert scene.bot_probe is not None
    await scene.bot_probe.idle()
    await asyncio.sleep(SETTLE_S)
    told = scene.police_inbox.expect(
        lambda a: a.sender == BOT and a.reply_to == larm and f"{alarm_id} accepterat av" in a.body)
    t0 = time.perf_counter()
    ok = await scene.anna.send(page.room_id, f"!ok {alarm_id}")
    sent = time.perf_counter()
    got = await arrival(scene, told, f"'{alarm_id} accepterat' at the police")
    puts, anna_note = put_milestones(scene.anna_probe, "anna", t0, sent, t0)
    steps, notes = bot_path(await scene.bot_probe.stamps(t0), ok, got.event_id, got.at, t0, "notice")
    milestones = {**puts, "anna: send returned": sent - t0, **steps,
                  **sync_milestones(scene.police_probe, "police", got.event_id, t0)}
    return Sample("ok", got.at - t0, milestones, "; ".join(([anna_note] if anna_note else []) + notes))


async def work_and_close(scene: Scene, alarm_id: str) -> None:
    """Both join the alarm room, the responder reports the phases there and closes with `!klar`; returns once the bot
    has left the room and has nothing more to send, so nothing of this alarm is under way when
    the next sample starts: making an encrypted room and joining it costs the homeserver more than a second of work
    (issue 17)."""
    assert scene.bot_probe is not None
    police, anna = scene.police_inbox, scene.anna_inbox
    facts = f"🚨 {alarm_id} —"
    started = time.perf_counter()
    room = await wait_for(anna, lambda a: a.sender == BOT and a.body.startswith(facts))
    await wait_for(police, lambda a: a.room_id == room.room_id and a.body.startswith(facts))
    phases = time.perf_counter()
    ROUND_SECONDS["alarm room made and joined"] += phases - started
    # The phases as a responder reports them on the way, one message after another; `!klar` once the bot has told
    # the police the last of them and answered them all (an answer queued behind its farewell would find the room
    # left: the bot's answers in the room and its farewell are separate queues).
    for group in (PHASES[:-1], PHASES[-1:]):
        told = group[-1][1].format(id=alarm_id)
        expected = police.expect(lambda a, told=told: a.sender == BOT and a.room_id == scene.police_room
                                 and a.body.startswith(told))
        for command, _line in group:
            await scene.anna.send(room.room_id, command)
        await arrival(scene, expected, f"{told!r} at the police")
        await scene.bot_probe.idle()
    leaving = time.perf_counter()
    ROUND_SECONDS["phases and !klar"] += leaving - phases
    for person in (scene.police, scene.anna):
        try:
            await person.wait_until(lambda p=person: BOT not in p.client.rooms[room.room_id].users, TIMEOUT_S)
        except AssertionError:
            raise RuntimeError(f"{person.user_id} still sees the bot in the room of {alarm_id} after {TIMEOUT_S:.0f}"
                               f" s; {await scene.bot_probe.state()}") from None
    await scene.bot_probe.idle()
    ROUND_SECONDS["bot left, outbox empty"] += time.perf_counter() - leaving


async def wait_for(inbox: Inbox, predicate: Callable[[Arrival], bool], timeout: float = TIMEOUT_S) -> Arrival:
    """The first arrival (already here or still to come) that matches."""
    found, ok = await inbox.until(0, predicate, bool, timeout)
    if not ok:
        raise RuntimeError(f"{inbox.person.user_id}: nothing matching within {timeout} s")
    return found[0]


async def open_alarm_rooms(scene: Scene, count: int, log: Callable[[str], None], at_once: int = 4
                          ) -> dict[str, float]:
    """`count` alarms raised and accepted, never closed: the bot, the police and the responder are then in `count`
    more alarm rooms, as on a day when that many are being worked. Up to `at_once` alarms are under way at a time,
    each accepted as soon as it is paged; returns once both clients are in every room and the bot is idle."""
    assert scene.bot_probe is not None
    started = time.perf_counter()
    facts_seen = scene.police_inbox.mark
    ids: list[str] = []
    gate = asyncio.Semaphore(at_once)

    async def one(k: int) -> None:
        marker = f"öppet {k}."
        async with gate:
            expected = scene.anna_inbox.expect(lambda a: a.pages(scene.anna.user_id) and marker in a.body)
            larm = await scene.police.send(scene.police_room, f"!larm Farsta {marker}")
            page = await arrival(scene, expected, f"the page of {marker!r}", larm)
            ids.append(page.alarm_id)
            if len(ids) % 25 == 0:
                log(f"{len(ids)}/{count} alarms raised and accepted")
            await scene.anna.send(page.room_id, f"!ok {page.alarm_id}")

    await asyncio.gather(*(one(k) for k in range(count)))
    raised = time.perf_counter()
    wanted = set(ids)

    def all_rooms(found: list[Arrival]) -> bool:
        return {m.group(1) for a in found if (m := FACTS.match(a.body))} >= wanted

    found, ok = await scene.police_inbox.until(facts_seen, lambda a: a.sender == BOT and FACTS.match(a.body)
                                               is not None, all_rooms, TIMEOUT_S * 4)
    if not ok:
        missing = wanted - {m.group(1) for a in found if (m := FACTS.match(a.body))}
        raise RuntimeError(f"{len(missing)} of {count} alarm rooms never reached the police: {sorted(missing)[:10]};"
                           f" the police client is in {len(scene.police.client.rooms)} rooms, undecryptable"
                           f" {scene.police.undecryptable}")
    await scene.bot_probe.idle()
    return {"raised_and_accepted_s": round(raised - started, 1), "rooms_ready_s": round(time.perf_counter() - started,
                                                                                         1)}
