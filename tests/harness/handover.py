"""A city with a district office for the handover and evaluation tests: Farsta's office (Cecilia C primary, David D
secondary, Eva E supervising) answers in office hours, Socialjouren (Anna A, Bertil B, Chef C supervising) at all
other times. Nobody is in both, so a test can say who got a message and that nobody else did."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.harness.botrunner import write_config
from tests.harness.component import POLICE, POLICE_ROOM, UNIT_ROOM, ComponentBot
from tests.harness.fakematrix import FakeMatrix

ROSTERS = Path(__file__).resolve().parent / "handover_rosters"
FARSTA_ROOM = "!farsta:localhost"
CECILIA = "@cecilia.c:localhost"
DAVID = "@david.d:localhost"
EVA = "@eva.e:localhost"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(text: str) -> float:
    """A wall-clock time in Stockholm as Unix seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).timestamp()


def unit_rooms(socialjouren: str, farsta: str) -> str:
    """The config tables naming each unit's room."""
    return f'\n[units.socialjouren]\nroom = "{socialjouren}"\n\n[units.farsta]\nroom = "{farsta}"\n'


async def start(tmp_path: Path, at: float, extra: str = "", rosters: Path = ROSTERS) -> ComponentBot:
    write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", [POLICE_ROOM], [POLICE], rosters=rosters,
                 extra=unit_rooms(UNIT_ROOM, FARSTA_ROOM) + extra)
    matrix = FakeMatrix()
    matrix.add_room(FARSTA_ROOM, CECILIA, DAVID, EVA)
    return await ComponentBot.start(tmp_path, matrix=matrix, clock=[at])


async def advance_to(bot: ComponentBot, at: float) -> None:
    await bot.advance(at - bot.now)
