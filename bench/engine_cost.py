"""The bot's own cost for a burst, without a homeserver: does it grow with history? Beside its target.

The whole App runs with the component tier's in-memory Matrix boundary (tests/harness/fakematrix.py), which answers
every send at once: what is left is the bot's work alone — recording and handling 100 `!larm`, the store
transactions, the state machine, the outbox. It is measured on an empty store, then again after every 100 alarms
raised and closed, up to 2,000 finished alarms of history.

    .venv/bin/python bench/engine_cost.py [--history 2000] [--burst 100] [--json] [--print-only]

Target: handle + send with the history within 20 % (or 20 ms) of the empty store's; exit code 1 when missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from plumbing import Target, add_target_options, exit_code, print_targets  # noqa: E402

from tests.harness.component import CHEF, POLICE, POLICE_ROOM, ComponentBot  # noqa: E402


async def burst(bot: ComponentBot, tag: str, size: int) -> dict[str, float]:
    events = [bot.event(POLICE, POLICE_ROOM, f"!larm Farsta {tag}-{k}") for k in range(size)]
    before = len(bot.matrix.sent)
    t0 = time.perf_counter()
    await bot.matrix.feed(*events)
    t1 = time.perf_counter()
    await bot.settle()
    t2 = time.perf_counter()
    return {"handle_ms": round((t1 - t0) * 1000, 1), "send_ms": round((t2 - t1) * 1000, 1),
            "messages": len(bot.matrix.sent) - before}


async def close_all(bot: ComponentBot, room: str) -> None:
    for alarm in bot.app.alarms.unfinished():
        await bot.say(CHEF, f"!klar {alarm.id}", room=room)


async def measure(history: int, size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        bot = await ComponentBot.start(Path(tmp), alarms_toml="rate_limit_count = 1000000")
        try:
            chef_room = bot.matrix.add_room("!chef:localhost", CHEF)
            rounds: list[dict[str, Any]] = []
            finished = 0
            while True:
                figures = await burst(bot, f"h{finished}", size)
                rounds.append({"history": finished, **figures})
                await close_all(bot, chef_room)
                finished += size
                if finished > history:
                    break
            return {"burst": size, "rounds": rounds}
        finally:
            await bot.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    add_target_options(parser)
    args = parser.parse_args()
    out = asyncio.run(measure(args.history, args.burst))
    rounds = out["rounds"]
    first = rounds[0]["handle_ms"] + rounds[0]["send_ms"]
    last = statistics.median(r["handle_ms"] + r["send_ms"] for r in rounds[-3:])
    target = Target(f"handle + send with {rounds[-1]['history']} finished alarms (median of the last 3 rounds)",
                    round(last, 1), f"≤ {1.2 * first + 20:.1f} ms (empty store {first:.1f} ms, + 20 % + 20 ms)",
                    last <= 1.2 * first + 20)
    if args.json:
        print(json.dumps({**out, "target": target.__dict__}, indent=1))
        sys.exit(exit_code([target], args.print_only))
    print(f"jourbot's own cost for {out['burst']} alarms at once, no homeserver (the boundary answers at once)")
    print(f"{'finished alarms before':>24} {'handle':>10} {'send':>10} {'messages':>9}")
    for r in rounds:
        print(f"{r['history']:>24} {r['handle_ms']:>8.1f} ms {r['send_ms']:>7.1f} ms {r['messages']:>9}")
    print_targets([target])
    sys.exit(exit_code([target], args.print_only))


if __name__ == "__main__":
    main()
