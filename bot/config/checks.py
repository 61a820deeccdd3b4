"""What config.toml can only be checked against the rosters: a check-in's unit must be one of theirs."""

from __future__ import annotations

from bot.config import Config
from rosters import Roster


def checkin_problems(config: Config, roster: Roster) -> list[str]:
    units = ", ".join(sorted(roster.units))
    return [f"{config.path}: [[checkin]] unit = {entry.unit!r} is no unit of the rosters in {config.rosters_dir}"
            f" (their units: {units})" for entry in config.checkin if entry.unit not in roster.units]
