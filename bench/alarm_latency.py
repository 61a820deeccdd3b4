"""How long a page takes, and an acceptance: each as a multiple of a plain message measured in the same run.

Everything is real: a throwaway local Synapse, the bot (bot.app.App through the test harness's BotRunner, in a
process of its own as deployed: bench/latency_bot.py) and E2EE nio clients for the police ("polis1") and the
responder on call ("anna.a", primary round the clock in the test roster), both in this process.
The floor is a plain encrypted message from the police straight to the responder, in a room without the bot: one
hop. An alarm is two (police → bot, bot → responder), so 2.0× the plain message is the physical limit. Timed:

  plain  police → anna in the room without the bot, with the bot stopped and with it running, in turns (the
         rounds in two blocks between three of plain messages alone, so what drifts in a run drifts for both)
  big    police → a colleague ("polis2", online) in the big police room (settings with one): the floor of a hop
         there
  page   `!larm Farsta …` in the police room → anna's client holds the decrypted page
  ok     anna's `!ok Ln` in her direct room with the bot → the police hold "Ln accepterat av …"

Each alarm then goes the way a real one does (README, "After acceptance"): both join the alarm room, the responder
reports the phases there and closes with `!klar`, and the bot says so and leaves; the police and the responder stay
in it, as people do. The next sample starts only when all of that is done and the bot's outbox is empty. Settings,
measured one after another in the same run (--settings):

  base     a 2-member police room
  bigroom  alarms raised in a police room of 150 members (registered accounts, each with a device and its keys)
  rooms    100 alarm rooms open: alarms raised and accepted, never closed, so the bot and both clients are in them
  both     the two at once: 100 alarm rooms open, alarms raised in the 150-member police room (what `make bench` runs
           beside base, to stay within its time)

Targets, per setting: page ÷ plain ≤ 2.2× at the median and ≤ 2.5× at p95; !ok → police told the same; the plain
message with the bot running at most 10 % slower at the median than with the bot stopped. In a setting with the big
police room, one of the two hops is into or out of it, which costs the homeserver more whoever sends (every member's
push rules and sync): there the limit is measured, (big + plain) ÷ plain instead of 2.0, and the targets are the same
1.1× and 1.25× of it. Exit code 1 when one is missed (--print-only: 0).

    .venv/bin/python bench/alarm_latency.py [--alarms 30] [--warmup 2] [--settings base,bigroom,rooms,both]
                                            [--rooms 100] [--members 150] [--bot own-process|in-process]
                                            [--json] [--print-only]

With --bot in-process the bot runs on the clients' event loop instead, as the integration tests have it: its
blocking work (SQLite commits, decryption, its own /sync of what it sent) then delays the clients too, which a
deployed bot never does; kept to compare with figures taken that way before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crowd import fill_room  # noqa: E402
from latency_bot import LocalBot, RemoteBot  # noqa: E402
from latency_probes import ClientProbe  # noqa: E402
from latency_report import Setting, method, print_text, setting_figures, targets  # noqa: E402
from latency_rounds import ROUND_SECONDS, Scene, alarm, open_alarm_rooms, ping  # noqa: E402
from nio import RoomCreateResponse, RoomPreset  # noqa: E402
from plumbing import Target, add_target_options, exit_code, mark_measuring, with_synapse  # noqa: E402
from stamps import BOT, LONG_POLL_MS, Inbox, LongPollPerson, widen_timeline  # noqa: E402

from bot.config import load as load_config  # noqa: E402
from tests.harness.botrunner import write_config  # noqa: E402
from tests.harness.people import ENCRYPTION, Person  # noqa: E402
from tests.harness.synapse import Synapse  # noqa: E402

ROSTERS = REPO / "tests" / "integration" / "rosters"
PASSWORD = "bench-password-not-secret"
SETTINGS = {"base": "2-member police room", "bigroom": "{members}-member police room",
            "rooms": "{rooms} alarm rooms open", "both": "{rooms} alarm rooms open, {members}-member police room"}
# No escalation may page anyone else mid-run, and every alarm comes from one officer: no rate limit may refuse it.
ALARMS_TOML = "\n[alarms]\nstep_wait_override_s = 600\nrate_limit_count = 100000\n"
BLOCKS = 2  # per setting, the rounds with the bot running in this many blocks, between blocks of it stopped


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` nearly equal whole parts, the larger first."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def log(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def knows_bot(police: Person, room: str) -> None:
    """Until the bot has joined `room` and the police's client knows its device: a `!larm` sent before would be
    encrypted for nobody on the bot's side (the first start of a run)."""
    await police.wait_joined(room, BOT)
    while not police.client.device_store.active_user_devices(BOT):
        await police.client.keys_query()
        await asyncio.sleep(0.1)


async def measure(synapse: Synapse, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    mark_measuring()
    people: list[Person] = []
    bot: LocalBot | RemoteBot | None = None
    started = time.perf_counter()
    say = (lambda _text: None) if args.json else log
    try:
        police = LongPollPerson(synapse.url, synapse.register("polis1", PASSWORD), PASSWORD,
                                workdir / "people" / "polis1")
        anna = LongPollPerson(synapse.url, synapse.register("anna.a", PASSWORD), PASSWORD,
                              workdir / "people" / "anna.a")
        people += [police, anna]
        for person in people:
            widen_timeline(person)
        await police.start()
        await anna.start()
        police_room = await police.create_room([BOT], name="polisrum")
        floor_room = await police.create_room([anna.user_id], name="golv")
        big_room = ""
        colleague: Person | None = None
        if {"bigroom", "both"} & set(args.settings):
            resp = await police.client.room_create(name="stort polisrum", invite=[BOT], initial_state=[ENCRYPTION],
                                                   preset=RoomPreset.public_chat)
            assert isinstance(resp, RoomCreateResponse), resp
            big_room = str(resp.room_id)
            # Another officer, online in the big room: the reader of its plain messages.
            colleague = LongPollPerson(synapse.url, synapse.register("polis2", PASSWORD), PASSWORD,
                                       workdir / "people" / "polis2")
            people.append(colleague)
            widen_timeline(colleague)
            await colleague.start()
        await police.wait_joined(floor_room, anna.user_id)
        await anna.wait_until(lambda: floor_room in anna.client.rooms)
        scene = Scene(police, anna, Inbox(police), Inbox(anna), ClientProbe.of(police.client),
                      ClientProbe.of(anna.client), floor_room)
        config = write_config(workdir / "bot", synapse.url, PASSWORD, [r for r in (police_room, big_room) if r],
                              [police.user_id], extra=ALARMS_TOML, rosters=ROSTERS)
        # The bot long-polls as deployed (config.example.toml), not every second as the tests have it.
        config.write_text(config.read_text().replace("sync_timeout_s = 1\n",
                                                     f"sync_timeout_s = {LONG_POLL_MS // 1000}\n"))
        bot = LocalBot(config) if args.bot == "in-process" else RemoteBot(config)
        setup_s = round(time.perf_counter() - started, 1)
        results: list[Setting] = []
        counter = 0
        filled: dict[str, Any] = {}
        opened: dict[str, float] = {}
        for name in args.settings:
            setting = Setting(name, SETTINGS[name].format(members=args.members, rooms=args.rooms))
            room = big_room if name in ("bigroom", "both") else police_room
            if name in ("bigroom", "both") and not filled:
                setting.setup["big_room"] = filled = await fill_room(synapse, big_room, args.members, PASSWORD)
                assert colleague is not None
                await colleague.client.join(big_room)
                await police.wait_joined(big_room, colleague.user_id)
                scene.colleague = Inbox(colleague)
                say(f"big room: {filled}")
            if name in ("rooms", "both") and not opened:
                scene.bot_probe, scene.police_room = await bot.start(), police_room
                await knows_bot(police, police_room)
                setting.setup["alarm_rooms"] = opened = await open_alarm_rooms(scene, args.rooms, say)
                say(f"alarm rooms: {opened}")
                await bot.stop()
            # The plain messages without the bot in blocks between the bot's (alone, bot, alone, bot, alone): the
            # clients carry one more alarm room after each round, and whatever else drifts during a run (the machine's
            # other work) drifts for both; the blocks together see what the rounds saw on average.
            alone = split(args.alarms, BLOCKS + 1)
            rounds = split(args.alarms, BLOCKS)
            pinged = 0
            for block in range(BLOCKS + 1):
                warmup = args.warmup if block == 0 else 0
                for n in range(warmup + alone[block]):
                    sample = await ping(scene, pinged, "alone")
                    pinged += 1
                    (setting.warmups if n < warmup else setting.samples["alone"]).append(sample)
                if block == BLOCKS:
                    break
                scene.bot_probe, scene.police_room = await bot.start(), room
                await knows_bot(police, room)
                # After each start a warm-up round: the first alarm after a start shares the keys anew; the run's
                # very first makes the direct room.
                warmup = args.warmup + (1 if not results and block == 0 else 0)
                for n in range(warmup + rounds[block]):
                    counter += 1
                    samples = [await ping(scene, counter, "plain")]
                    if room == big_room:
                        samples.append(await ping(scene, counter, "big", big_room))
                    samples += await alarm(scene, counter, first=counter == 1)
                    for sample in samples:
                        (setting.warmups if n < warmup else setting.samples[sample.kind]).append(sample)
                await bot.stop()
                say(f"{setting.label}: {sum(rounds[:block + 1])}/{args.alarms} rounds")
            results.append(setting)
        figures = [setting_figures(s) for s in results]
        settings = load_config(config).matrix
        return {"method": method(args.alarms, args.warmup, settings.sync_timeout_s, settings.trust, args.bot),
                "setup_s": setup_s, "total_s": round(time.perf_counter() - started, 1), "settings": figures,
                "round_seconds": {k: round(v, 1) for k, v in ROUND_SECONDS.most_common()},
                "targets": [asdict(t) for t in targets(figures)]}
    finally:
        if bot is not None:
            await bot.stop()
        for person in people:
            await person.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alarms", type=int, default=30, help="counted rounds per setting, each a plain message,"
                        " a page and an acceptance (≥ 20)")
    parser.add_argument("--warmup", type=int, default=2, help="rounds before counting, per setting; one more in the"
                        " first, whose first alarm makes the responder's direct room (2)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated: {', '.join(SETTINGS)}")
    parser.add_argument("--rooms", type=int, default=100, help="alarm rooms open in the 'rooms' setting (100)")
    parser.add_argument("--members", type=int, default=150, help="members of the big police room (150)")
    parser.add_argument("--bot", choices=("own-process", "in-process"), default="own-process",
                        help="the bot in a process of its own, as deployed (default), or on the clients' event loop")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    add_target_options(parser)
    args = parser.parse_args()
    if args.alarms < 20:
        parser.error("--alarms must be at least 20 for a 95th percentile to mean anything")
    args.settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = set(args.settings) - set(SETTINGS)
    if unknown or not args.settings:
        parser.error(f"unknown setting(s) {sorted(unknown)}; choose from {', '.join(SETTINGS)}")
    args.settings = [s for s in SETTINGS if s in args.settings]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # nio warns "Missing session for device" each time it first shares keys, which is expected here, not news.
    logging.getLogger("nio").setLevel(logging.ERROR)

    announce = None if args.json else f"settings {', '.join(args.settings)}"
    figures, env = with_synapse("jourbot-bench-", announce, PASSWORD,
                                lambda synapse, workdir: measure(synapse, workdir, args))
    figures = {"environment": env, **figures}
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print_text(figures)
    sys.exit(exit_code([Target(**t) for t in figures["targets"]], args.print_only))


if __name__ == "__main__":
    main()
