"""Alarms under load: a burst, escalation lateness, a long history, a big room and a flood, beside their targets.

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

    .venv/bin/python bench/alarm_burst.py [--size full|quick|bench] [--scenarios floor,burst,…] [--json]
                                          [--print-only]

All scenarios take about 10 minutes on 2 CPUs at the full size (building the history is 6 of them), about 6 at
--size quick, about 1½ at --size bench (what `make bench` runs); --help lists the sizes. Exit code 1 when a target is
missed (--print-only: 0). The scenarios live in bench/burst_*.py over bench/plumbing.py and bench/stamps.py.

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
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from burst_alarms import burst, lateness  # noqa: E402
from burst_bot import close_alarms, restart_with_traffic, start_bot  # noqa: E402
from burst_floor import floor, ordered_floor  # noqa: E402
from burst_history import build_history  # noqa: E402
from burst_report import print_text, verdicts  # noqa: E402
from burst_rooms import big_room, big_room_setup, flood, one_alarm  # noqa: E402
from burst_scene import (  # noqa: E402
    PASSWORD,
    SCENARIOS,
    Scene,
    Settings,
    create_room,
    person,
    quiet,
)
from plumbing import add_target_options, exit_code, mark_measuring, with_synapse  # noqa: E402
from stamps import BOT, Inbox, widen_timeline  # noqa: E402

from tests.harness.people import Person  # noqa: E402
from tests.harness.synapse import Synapse  # noqa: E402


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



# The sizes of --size: full, quick, bench (`make bench`, a couple of minutes on 2 CPUs).
SIZES: dict[str, dict[str, Any]] = {
    "burst": {"full": 100, "quick": 100, "bench": 30},
    "senders": {"full": 10, "quick": 10, "bench": 5},
    "lateness": {"full": 50, "quick": 20, "bench": 10},
    "spread": {"full": 10.0, "quick": 5.0, "bench": 3.0},
    "step_wait": {"full": 12, "quick": 8, "bench": 5},
    "history": {"full": 2000, "quick": 300, "bench": 60},
    "chatter": {"full": 40, "quick": 40, "bench": 20},
    "big_members": {"full": 150, "quick": 50, "bench": 30},
    "big_alarms": {"full": 10, "quick": 5, "bench": 3},
    "flood": {"full": 1000, "quick": 1000, "bench": 300},
}


def settings_from(args: argparse.Namespace) -> Settings:
    size = "quick" if args.quick else args.size
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")

    def pick(name: str) -> Any:
        given = getattr(args, name)
        return given if given is not None else SIZES[name][size]

    return Settings(
        scenarios=[s for s in SCENARIOS if s in scenarios],
        burst=pick("burst"),
        senders=pick("senders"),
        window_s=args.window,
        lateness=pick("lateness"),
        spread_s=pick("spread"),
        step_wait_s=pick("step_wait"),
        history=pick("history"),
        chatter=pick("chatter"),
        big_members=pick("big_members"),
        big_alarms=pick("big_alarms"),
        flood=pick("flood"),
        timeout_s=args.timeout,
        quiet=args.json,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--size", choices=("full", "quick", "bench"), default="full",
                        help="the sizes below when not given: " + "; ".join(
                            f"{name.replace('_', '-')} {'/'.join(str(v) for v in sizes.values())}"
                            for name, sizes in SIZES.items()) + " (full/quick/bench)")
    parser.add_argument("--quick", action="store_true", help="the same as --size quick")
    parser.add_argument("--burst", type=int, help="alarms in the burst, and messages in the floor")
    parser.add_argument("--senders", type=int, help="police accounts")
    parser.add_argument("--window", type=float, default=1.0, help="the burst is sent evenly over this many seconds (1)")
    parser.add_argument("--lateness", type=int, help="alarms open at once for the lateness figures")
    parser.add_argument("--spread", type=float, help="they are raised evenly over this many seconds")
    parser.add_argument("--step-wait", type=int, help="step wait in the lateness scenario, seconds")
    parser.add_argument("--history", type=int, help="finished alarms in the police room before scenario 4")
    parser.add_argument("--chatter", type=int, help="messages sent while the bot is down")
    parser.add_argument("--big-members", type=int, help="members of the big police room")
    parser.add_argument("--big-alarms", type=int, help="counted alarms per room in the big-room scenario")
    parser.add_argument("--flood", type=int, help="commands in the stranger's flood")
    parser.add_argument("--timeout", type=float, default=180.0, help="longest wait for any one step, seconds (180)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    add_target_options(parser)
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
    rows = verdicts(results)
    figures = {"environment": env, "settings": settings.__dict__, "results": results,
               "targets": [asdict(t) for t in rows]}
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print_text(figures)
    sys.exit(exit_code(rows, args.print_only))


if __name__ == "__main__":
    main()
