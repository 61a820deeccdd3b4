"""Helpers for the roster tests: a small fictional roster written to a folder, with parts easy to vary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rosters import Roster, load_dir

STHLM = ZoneInfo("Europe/Stockholm")
EXAMPLES = Path(__file__).resolve().parents[2] / "rosters" / "examples"

ANNA, BERTIL, CHEF = "@anna.a:localhost", "@bertil.b:localhost", "@chef.c:localhost"
CECILIA, DAVID, EVA = "@cecilia.c:localhost", "@david.d:localhost", "@eva.e:localhost"

PEOPLE = """
[people]
"@anna.a:localhost" = "Anna A"
"@bertil.b:localhost" = "Bertil B"
"@chef.c:localhost" = "Chef C"
"@cecilia.c:localhost" = "Cecilia C"
"@david.d:localhost" = "David D"
"@eva.e:localhost" = "Eva E"
"""

AREAS = """
[[area]]
id = "farsta"
name = "Farsta"
aliases = ["Farsta strand"]
office_unit = "office"
other_unit = "jour"

[[area]]
id = "centrum"
name = "Centrum"
other_unit = "jour"
"""

# Day and night primaries that hand off at 08:00 and 22:00, a secondary every three days on weekdays only, and
# supervisors who hand off at 02:30, a time DST skips or repeats: enough variety for the reference test to catch
# a wrong turn or a wrong handoff.
JOUR = """
name = "Jouren"
phone = "08-000 00 00"
supervisors = ["@chef.c:localhost", "@eva.e:localhost"]

[[rotation]]
role = "primary"
name = "Dag"
shift = "08:00-22:00"
every = "weekly"
start = 2025-12-29
members = ["@anna.a:localhost", "@bertil.b:localhost"]

[[rotation]]
role = "primary"
name = "Natt"
shift = "22:00-08:00"
every = "daily"
start = 2025-12-29
members = ["@cecilia.c:localhost", "@david.d:localhost", "@anna.a:localhost"]

[[rotation]]
role = "secondary"
shift = "07:00-19:00"
every = 3
days = ["mon", "tue", "wed", "thu", "fri"]
start = 2025-12-30
members = ["@eva.e:localhost", "@bertil.b:localhost"]

[[rotation]]
role = "supervisor"
shift = "02:30-02:30"
every = "daily"
start = 2025-12-29
members = ["@chef.c:localhost", "@eva.e:localhost"]
"""

OFFICE = """
name = "Kontoret"
phone = "08-000 00 10"
supervisors = ["@chef.c:localhost"]
members = ["@eva.e:localhost"]

[office_hours]
mon = "08:00-16:30"
tue = "08:00-16:30"
wed = "08:00-16:30"
thu = "08:00-16:30"
fri = "08:00-16:00"
before_holiday = "13:00"

[[rotation]]
role = "primary"
shift = "08:00-08:00"
every = "weekly"
start = 2025-12-29
members = ["@david.d:localhost", "@cecilia.c:localhost"]
"""


def write_roster(folder: Path, **files: str) -> Path:
    """A roster folder with the test city's files; `name_toml="..."` replaces or adds name.toml, "" removes it."""
    contents = {"people.toml": PEOPLE, "areas.toml": AREAS, "jour.toml": JOUR, "office.toml": OFFICE}
    for key, text in files.items():
        contents[key.replace("_toml", ".toml").replace("_ics", ".ics")] = text
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in contents.items():
        if text:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def build_roster(folder: Path, **files: str) -> Roster:
    return load_dir(write_roster(folder, **files))


def at(text: str) -> datetime:
    """An instant written as Stockholm wall time ("2026-06-17 10:00") or with an offset."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=STHLM)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours(start: datetime, end: datetime) -> float:
    return (end.timestamp() - start.timestamp()) / 3600


def primary(chain: object) -> list[str]:
    return [p.user for step in chain.steps if step.role == "primary" for p in step.people]  # type: ignore[attr-defined]


def step_users(chain: object, role: str) -> list[str]:
    return [p.user for step in chain.steps if step.role == role for p in step.people]  # type: ignore[attr-defined]


# No night primary from Sunday 22:00 to Monday 08:00.
NO_SUNDAY_NIGHT = JOUR.replace(
    'name = "Natt"\nshift = "22:00-08:00"',
    'name = "Natt"\ndays = ["mon", "tue", "wed", "thu", "fri", "sat"]\nshift = "22:00-08:00"',
)
