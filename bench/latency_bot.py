"""The bot of bench/alarm_latency.py in a process of its own, as it is deployed (`jourbot run`, or `make run`): its
work then competes with the clients' for the machine's CPUs, not for their event loop.

Run as a script it is that process: the bot (bot.app.App through the test harness's BotRunner, with latency_probes'
BotProbe on it) and a line protocol on stdin/stdout for the benchmark's questions — "idle", "state", "page_of <event>",
"stamps <since>", "stop"; each answer is one line of JSON. `RemoteBot` is the benchmark's side of it.

    .venv/bin/python bench/latency_bot.py CONFIG
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from latency_probes import BotProbe, BotStamps  # noqa: E402

from tests.harness.botrunner import BotRunner  # noqa: E402

START_TIMEOUT_S = 90.0  # the first sync of a bot in 100 alarm rooms, on a loaded machine
ANSWER_TIMEOUT_S = 120.0  # "idle" waits for the bot's outbox to empty


class LocalBot:
    """The bot on the benchmark's own event loop, beside the clients (--bot in-process): how the figures were taken
    before the bot got a process of its own, kept to compare."""

    def __init__(self, config: Path) -> None:
        self._runner = BotRunner(config)

    async def start(self) -> BotProbe:
        return BotProbe(await self._runner.start())

    async def stop(self) -> None:
        await self._runner.stop()


class RemoteBot:
    """The benchmark's handle on the bot in its own process (a MeasuredBot)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self._process: asyncio.subprocess.Process | None = None
        self._asking = asyncio.Lock()  # one question at a time: the answers come back in order

    async def start(self) -> RemoteBot:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), str(self.config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), START_TIMEOUT_S)
        if line.strip() != b'"ready"':
            await self._process.wait()
            raise RuntimeError(f"the bot's process did not start (exit {self._process.returncode}); see above")
        return self

    async def _ask(self, question: str) -> Any:
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        async with self._asking:
            process.stdin.write(question.encode() + b"\n")
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), ANSWER_TIMEOUT_S)
        if not line:
            raise RuntimeError(f"the bot's process ended (exit {await process.wait()}) while asked {question!r}")
        return json.loads(line)

    async def idle(self) -> None:
        await self._ask("idle")

    async def state(self) -> str:
        return str(await self._ask("state"))

    async def page_of(self, larm: str) -> tuple[str, str | None]:
        fate, page = await self._ask(f"page_of {larm}")
        return str(fate), page

    async def stamps(self, since: float) -> BotStamps:
        return BotStamps.from_json(await self._ask(f"stamps {since!r}"))

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.write(b"stop\n")
            await process.stdin.drain()
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


async def answer(probe: BotProbe, question: str) -> Any:
    command, _, argument = question.partition(" ")
    if command == "idle":
        await probe.idle()
        return True
    if command == "state":
        return await probe.state()
    if command == "page_of":
        return list(await probe.page_of(argument))
    if command == "stamps":
        return (await probe.stamps(float(argument))).since(float(argument))
    raise ValueError(f"unknown question {question!r}")


async def serve(config: Path) -> None:
    # stdout carries the answers alone: anything else the process prints goes to stderr.
    answers, sys.stdout = sys.stdout, sys.stderr
    runner = BotRunner(config)
    probe = BotProbe(await runner.start())
    loop = asyncio.get_running_loop()
    questions = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(questions), sys.stdin)
    print(json.dumps("ready"), file=answers, flush=True)
    try:
        while line := (await questions.readline()).decode().strip():
            if line == "stop":
                break
            print(json.dumps(await answer(probe, line), ensure_ascii=False), file=answers, flush=True)
    finally:
        await runner.stop()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("nio").setLevel(logging.ERROR)  # "Missing session for device" at each first key share
    asyncio.run(serve(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
