"""The scene of bench/alarm_burst.py: its settings, the people and rooms, the bot, and waiting for it to go quiet."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from burst_traffic import BotTraffic
from nio import RoomCreateResponse, RoomPreset
from stamps import Inbox

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.people import ENCRYPTION, Person
from tests.harness.synapse import Synapse

REPO = Path(__file__).resolve().parents[1]
ROSTERS = REPO / "tests" / "integration" / "rosters"
PASSWORD = "bench-password-not-secret"
SCENARIOS = ("floor", "burst", "lateness", "history", "bigroom", "flood")
CLOSED = re.compile(r"(L\d+) är (?:redan )?avslutat")
QUIET_S = 1.0  # the bot counts as idle once none of our clients has received anything from it for this long


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
    flood: int
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


