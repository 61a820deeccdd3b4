"""The browser view's login under a flood, beside the page: 200 junk `POST /login` in a second from another process
while alarms are raised. The whole App runs with the component tier's in-memory Matrix boundary
(tests/harness/fakematrix.py), so what is measured is the bot's own event loop, which serves the browser view and
pages alike.

    .venv/bin/python bench/login_flood.py [--rounds 3] [--json] [--print-only]

Targets: a page raised during the flood takes < 50 ms longer (median) than one raised without it, and the event
loop's 95th-percentile lateness during the flood stays < 50 ms; exit code 1 when missed. That the junk is refused,
and without a write, is a test (tests/component/test_web_scope.py), not a figure.
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

from tests.component.test_web_scope import FLOOD, example_city  # noqa: E402
from tests.harness.component import POLICE, ComponentBot  # noqa: E402

AREAS = ("Farsta", "Skärholmen")


async def page_ms(bot: ComponentBot, alarm: str, area: str) -> float:
    """From !larm to its page accepted by the (in-memory) homeserver."""
    before = time.perf_counter()
    await bot.say(POLICE, f"!larm {area} {alarm}")
    pages = [s for s in bot.matrix.sent if f"{alarm} " in s.body and s.must_reach and s.msgtype == "m.text"]
    if len(pages) != 1:
        raise RuntimeError(f"{alarm}: {len(pages)} pages, expected 1")
    return (pages[0].at - before) * 1000


async def measure(rounds: int) -> dict[str, Any]:
    quiet: list[float] = []
    during: list[float] = []
    lags: list[float] = []
    refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        bot, base = await example_city(Path(tmp), alarms_toml="rate_limit_count = 1000000")
        raised = iter(range(1, 10_000))
        stop = asyncio.Event()

        async def loop_lag() -> None:
            while not stop.is_set():
                asked = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append((time.perf_counter() - asked - 0.005) * 1000)

        try:
            for _ in range(rounds):
                quiet += [await page_ms(bot, f"L{next(raised)}", area) for area in AREAS + AREAS[:1]]
                flood = await asyncio.create_subprocess_exec(sys.executable, "-c", FLOOD, base,
                                                             stdin=asyncio.subprocess.PIPE,
                                                             stdout=asyncio.subprocess.PIPE)
                assert flood.stdin is not None and flood.stdout is not None
                if (await flood.stdout.readline()).strip() != b"ready":
                    raise RuntimeError("the flooding process did not start")
                stop.clear()
                ticker = asyncio.create_task(loop_lag())
                flood.stdin.write(b"go\n")
                await flood.stdin.drain()
                for area in AREAS + AREAS[:1]:
                    await asyncio.sleep(0.2)  # the pages spread over the flood's second
                    during.append(await page_ms(bot, f"L{next(raised)}", area))
                out, _ = await flood.communicate()
                stop.set()
                await ticker
                refused += sum(status in (403, 429) for status in json.loads(out)["statuses"])
                for alarm in bot.app.alarms.unfinished():  # a clean chain for the next round
                    await bot.say(POLICE, f"!avbryt {alarm.id}")
        finally:
            stop.set()
            await bot.stop()
    lags.sort()
    return {"quiet_ms": quiet, "during_ms": during, "loop_lag_p95_ms": lags[int(0.95 * len(lags))] if lags else None,
            "junk_refused": refused, "junk_sent": 200 * rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    add_target_options(parser)
    args = parser.parse_args()
    out = asyncio.run(measure(args.rounds))
    slower = statistics.median(out["during_ms"]) - statistics.median(out["quiet_ms"])
    lag = out["loop_lag_p95_ms"]
    targets = [
        Target("a page during 200 junk logins a second, slower by (median)", round(slower, 1), "< 50 ms", slower < 50),
        Target("event loop lateness during the flood (p95)", lag, "< 50 ms", lag is not None and lag < 50),
        Target(f"junk logins refused (of {out['junk_sent']})", out["junk_refused"], "all",
               out["junk_refused"] == out["junk_sent"], unit=""),
    ]
    if args.json:
        print(json.dumps({**out, "targets": [t.__dict__ for t in targets]}, indent=1))
    else:
        print("pages from !larm to the homeserver's answer, without and during a login flood (ms):")
        print(f"  quiet:  {', '.join(f'{v:.1f}' for v in out['quiet_ms'])}")
        print(f"  during: {', '.join(f'{v:.1f}' for v in out['during_ms'])}")
        print_targets(targets)
    sys.exit(exit_code(targets, args.print_only))


if __name__ == "__main__":
    main()
