"""How fast the roster engine loads and answers: prints figures, asserts nothing.

Writes a generated roster of 50 areas, 10 units and 500 people to a temporary folder, so that load time is measured
through the real loader (TOML parsing and every check), then asks `who` for random areas at random instants over a
year, first with cold per-day caches and then warm, with and without overrides.

    .venv/bin/python bench/roster_lookup.py [--lookups 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rosters import Override, find_gaps, load_dir
from rosters.findings import check_roster

AREAS, UNITS, PEOPLE = 50, 10, 500
LOOKUPS = 100_000
STHLM = ZoneInfo("Europe/Stockholm")
OFFICE_HOURS = """
[office_hours]
mon = "08:00-16:30"
tue = "08:00-16:30"
wed = "08:00-16:30"
thu = "08:00-16:30"
fri = "08:00-16:00"
before_holiday = "13:00"
"""


def person(n: int) -> str:
    return f"@person{n:03d}:localhost"


def rotation(role: str, name: str, shift: str, every: str, members: list[str]) -> str:
    listed = ", ".join(f'"{m}"' for m in members)
    return (
        f'\n[[rotation]]\nrole = "{role}"\nname = "{name}"\nshift = "{shift}"\nevery = {every}\n'
        f"start = 2025-01-06\nmembers = [{listed}]\n"
    )


def write_city(folder: Path) -> None:
    """Unit 0 is a city-wide night-and-weekend unit; units 1-9 are district offices with 50 people each."""
    people = "\n".join(f'"{person(n)}" = "Person {n:03d}"' for n in range(PEOPLE))
    (folder / "people.toml").write_text(f"[people]\n{people}\n")
    per_unit = PEOPLE // UNITS
    for u in range(UNITS):
        staff = [person(n) for n in range(u * per_unit, (u + 1) * per_unit)]
        chiefs, workers = staff[:5], staff[5:]
        half = len(workers) // 2
        body = (
            f'name = "Enhet {u}"\nphone = "08-000 00 {u:02d}"\nsupervisors = [{", ".join(repr(c) for c in chiefs)}]\n'
        )
        body = body.replace("'", '"')
        body += "" if u == 0 else OFFICE_HOURS
        body += rotation("primary", "Dag", "08:00-22:00", '"weekly"', workers[:half])
        body += rotation("primary", "Natt", "22:00-08:00", "3", workers[half:])
        body += rotation("secondary", "Dag", "08:00-22:00", '"daily"', workers[half:])
        body += rotation("secondary", "Natt", "22:00-08:00", '"weekly"', workers[:half])
        body += rotation("supervisor", "Jourchef", "08:00-08:00", '"weekly"', chiefs)
        (folder / f"unit{u}.toml").write_text(body)
    areas = "".join(
        f'[[area]]\nid = "area{a}"\nname = "Område {a}"\naliases = ["Omrade {a} centrum", "O{a}"]\n'
        f'office_unit = "unit{1 + a % (UNITS - 1)}"\nother_unit = "unit0"\n\n'
        for a in range(AREAS)
    )
    (folder / "areas.toml").write_text(areas)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def lookups(roster, instants, areas, overrides) -> float:
    start = time.perf_counter()
    for at, area in zip(instants, areas, strict=True):
        roster.who(area, at, overrides)
    return (time.perf_counter() - start) / len(instants)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lookups", type=int, default=LOOKUPS, help=f"`who` lookups per pass ({LOOKUPS:,})")
    count = parser.parse_args().lookups
    rng = random.Random(20260619)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_city(folder)
        loads = [timed(load_dir, folder) for _ in range(5)]
        roster = loads[-1][1]
        print(f"roster: {len(roster.areas)} areas, {len(roster.units)} units, {len(roster.people)} people")
        median = statistics.median(t for t, _ in loads)
        print(f"load_dir: first {loads[0][0] * 1000:.1f} ms, median of 5 {median * 1000:.1f} ms")

        year = datetime(2026, 1, 1, tzinfo=STHLM).timestamp()
        instants = [datetime.fromtimestamp(year + rng.random() * 365 * 86400, STHLM) for _ in range(count)]
        names = [rng.choice([a.name, a.id, *a.aliases]).lower() for a in roster.areas.values()]
        areas = [rng.choice(names) for _ in range(count)]
        starts = [datetime.fromtimestamp(year + rng.random() * 365 * 86400, STHLM) for _ in range(20)]
        overrides = [
            Override(
                person(rng.randrange(PEOPLE)),
                "Vikarie",
                f"unit{rng.randrange(UNITS)}",
                rng.choice(["primary", "secondary"]),
                start,
                start + timedelta(hours=rng.randint(1, 72)),
            )
            for start in starts
        ]

        cold = lookups(load_dir(folder), instants, areas, ())
        warm = lookups(roster, instants, areas, ())
        warm = min(warm, lookups(roster, instants, areas, ()))
        with_overrides = lookups(roster, instants, areas, overrides)
        print(f"who, cold caches (first pass over the year): {cold * 1e6:.1f} µs per lookup")
        for label, per in (("who, warm", warm), ("who, warm, 20 overrides", with_overrides)):
            print(f"{label}: {per * 1e6:.1f} µs per lookup, {1 / per:,.0f} lookups per second")

        now = datetime(2026, 6, 1, tzinfo=STHLM)
        seconds, gaps = timed(find_gaps, load_dir(folder), now, now + timedelta(days=30))
        print(f"find_gaps over 30 days for every area: {seconds * 1000:.0f} ms, {len(gaps)} gaps")
        seconds, found = timed(check_roster, load_dir(folder), now, now + timedelta(days=30))
        print(f"check_roster over 30 days (as `roster check` and each reload, twice): {seconds * 1000:.0f} ms,"
              f" {len(found)} findings")


if __name__ == "__main__":
    main()
