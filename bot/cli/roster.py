"""`jourbot roster …`: check a roster folder, ask who is on call, show or export shifts.

Scripts rely on this interface (SPEC.md, "Command-line contract"): keep options and the `who --json` shape stable.
Exit codes: 0 fine, 1 the roster has errors or gaps (or cannot be read), 2 a usage error such as a bad time.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from bot import config as config_module
from bot.cli.ready import add_ready_parser
from bot.config import Config
from bot.core.i18n import calendar_words
from bot.store.leave import read_active as read_leave
from bot.store.overrides import read_active
from rosters import (
    Chain,
    Override,
    Roster,
    RosterError,
    Shift,
    TimeError,
    UnknownArea,
    UnknownUnit,
    load_dir,
)
from rosters.findings import CHECK_DAYS, check_roster
from rosters.ics import person_ics, unit_ics
from rosters.load import EXAMPLES_DIR
from rosters.wallclock import day_start, parse_instant

ROSTERS_ENV = "JOURBOT_ROSTERS"
DATABASE_FILE = "jourbot.db"  # in the config's storage.dir, as bot/app.py names it


class UsageError(Exception):
    """Bad input on the command line: exit 2."""


def add_roster_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = subparsers.add_parser("roster", help="check, query and export rosters", description=__doc__)
    roster.set_defaults(func=run_roster)
    sub = roster.add_subparsers(dest="roster_command", metavar="COMMAND", required=True)

    check = sub.add_parser(
        "check",
        help=f"validate a roster folder; list gaps, steps that page nobody new, overlapping shifts and short rests"
        f" in the next {CHECK_DAYS} days",
    )
    check.add_argument("dir", metavar="DIR")
    check.add_argument(
        "--from", dest="start", metavar="ISO8601", help="look for gaps from this day or instant (default: now)"
    )
    check.add_argument(
        "--days", type=int, default=CHECK_DAYS, help=f"how many days to look ahead (default {CHECK_DAYS})"
    )
    check.add_argument("--json", action="store_true",
                       help="print one JSON object: ok, the counts, the findings, or the problems that stop the roster")

    who = sub.add_parser("who", help="the escalation chain for an area at an instant")
    who.add_argument("--area", required=True, help="area name or alias, e.g. Farsta")
    who.add_argument("--at", metavar="ISO8601", help="instant (default: now); without offset read in the area's zone")
    _add_rosters_option(who)
    who.add_argument("--json", action="store_true", help="print one JSON object")

    show = sub.add_parser("show", help="a unit's shifts, after overrides")
    show.add_argument("--unit", required=True)
    _add_range_options(show)
    _add_rosters_option(show)
    show.add_argument("--json", action="store_true", help="print a JSON list of shifts")

    ics = sub.add_parser("ics", help="export a unit's or a person's shifts as iCalendar")
    whose = ics.add_mutually_exclusive_group(required=True)
    whose.add_argument("--unit")
    whose.add_argument("--person", metavar="@USER:SERVER")
    _add_range_options(ics)
    _add_rosters_option(ics)
    ics.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")

    add_ready_parser(sub)  # `roster ready`: its own module and its own func


def _add_rosters_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rosters",
        metavar="DIR",
        help=f"roster folder (default: the config's, else ${ROSTERS_ENV}; one of them is needed)",
    )
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        type=Path,
        help="the bot's config.toml: include the overrides made in chat (read from the bot's database)",
    )


def _add_range_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day (or an ISO instant)")
    parser.add_argument(
        "--to", dest="end", required=True, metavar="DATE", help="last day, included (or an ISO instant)"
    )


def run_roster(args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "check": _check,
        "who": _who,
        "show": _show,
        "ics": _ics,
    }
    try:
        return commands[args.roster_command](args)
    except RosterError as exc:
        count = len(exc.problems)
        _err(f"the roster cannot be used ({count} problem{'' if count == 1 else 's'}):")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except (UsageError, TimeError, UnknownArea, UnknownUnit) as exc:
        _err(str(exc))
        return 2
    except sqlite3.Error as exc:
        _err(f"cannot read the overrides and leave made in chat or the browser from the bot's database: {exc}")
        return 1


def _err(message: str) -> None:
    print(f"jourbot roster: {message}", file=sys.stderr)


def _roster(args: argparse.Namespace) -> Roster:
    """The folder's roster; given the bot's config, with the leave made in the browser, as the bot runs it."""
    config = _config(args)
    folder = args.rosters or (config.rosters_dir if config else None) or os.environ.get(ROSTERS_ENV)
    if not folder:
        # Never the fictional example city unasked: an answer about Farsta's Anna A, given to a script that forgot its
        # folder, looks like a real roster's.
        raise UsageError(f"which rosters? Give --rosters DIR, -c config.toml (the bot's, with the overrides made in"
                         f" chat) or set {ROSTERS_ENV}. The fictional example city is --rosters {EXAMPLES_DIR}")
    roster = load_dir(folder)
    return roster.with_leave(read_leave(config.state_dir / DATABASE_FILE)) if config else roster


def _config(args: argparse.Namespace) -> Config | None:
    return config_module.load(args.config) if getattr(args, "config", None) else None


def _chat_overrides(args: argparse.Namespace) -> list[Override]:
    """The overrides made in chat (`!byt`), when the bot's config says where its database is; those written in
    the roster files the Roster applies by itself."""
    config = _config(args)
    return read_active(config.state_dir / DATABASE_FILE) if config else []


# -- check ----------------------------------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise UsageError("--days must be at least 1")
    try:
        roster = load_dir(args.dir)
    except RosterError as exc:
        if not args.json:
            raise
        print(json.dumps({"ok": False, "dir": str(args.dir), "problems": exc.problems, "findings": []},
                         ensure_ascii=False, indent=1))
        return 1
    start = _bound(args.start, roster.default_zone, whole_day=False) if args.start else datetime.now(UTC)
    end = start + timedelta(days=args.days)
    found = check_roster(roster, start, end)
    span = f"{_stamp(start, roster.default_zone)} to {_stamp(end, roster.default_zone)}"
    if args.json:
        print(json.dumps({
            "ok": not found, "dir": str(args.dir), "from": start.isoformat(), "to": end.isoformat(),
            "areas": len(roster.areas), "units": len(roster.units), "people": len(roster.people), "problems": [],
            "findings": [{"kind": f.kind, "subject": f.subject, "start": f.start.isoformat(),
                          "end": f.end.isoformat(), "line": f.line} for f in found],
        }, ensure_ascii=False, indent=1))
        return 1 if found else 0
    if not found:
        counts = f"{len(roster.areas)} areas, {len(roster.units)} units, {len(roster.people)} people"
        print(f"OK: {args.dir}: {counts}; every area has a primary on call from {span}")
        return 0
    for finding in found:
        print(finding.line)
    kinds = [f.kind for f in found]
    summary = ", ".join(f"{kinds.count(kind)} {one if kinds.count(kind) == 1 else many}"
                        for kind, one, many in _FINDING_LABELS if kind in kinds)
    _err(f"{summary} in {args.dir} from {span}")
    return 1


# The command line speaks English only (its output is read by operators and scripts, not by the people on call).
_FINDING_LABELS = (
    ("gap", "gap", "gaps"),
    ("step", "step that pages nobody new", "steps that page nobody new"),
    ("overlap", "overlapping shift", "overlapping shifts"),
    ("rest", "short rest", "short rests"),
)


# -- who ------------------------------------------------------------------------------------------------------------


def _who(args: argparse.Namespace) -> int:
    roster = _roster(args)
    area = roster.find_area(args.area)
    if area is None:
        raise UnknownArea(args.area, roster.suggest_areas(args.area))
    tz = roster.area_zone(area)
    at = parse_instant(args.at, tz) if args.at else datetime.now(UTC)
    chain = roster.who(area.id, at.astimezone(tz), _chat_overrides(args))
    print(json.dumps(chain_json(chain), ensure_ascii=False) if args.json else _chain_table(chain))
    return 0


def chain_json(chain: Chain) -> dict[str, object]:
    """The `who --json` object: people in escalation order; a step nobody holds has no entry."""
    return {
        "area": chain.area,
        "at": chain.at.isoformat(),
        "unit": chain.unit,
        "chain": [{"role": step.role, "user": p.user, "name": p.name} for step in chain.steps for p in step.people],
    }


def _chain_table(chain: Chain) -> str:
    lines = [f"{chain.area_name} at {_stamp(chain.at)}: {chain.unit_name} ({chain.unit}), tel {chain.unit_phone}"]
    for number, step in enumerate(chain.steps, start=1):
        people = ", ".join(f"{p.name} <{p.user}>" for p in step.people) or "(nobody)"
        lines.append(f"  {number}. {step.role:<10} {people}  [then wait {step.wait_s} s]")
    if not chain.has_primary:
        lines.append("  GAP: no primary on call; an alarm goes straight to the supervisors")
    return "\n".join(lines)


# -- show and ics ---------------------------------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    roster = _roster(args)
    unit = roster.unit(args.unit)
    start, end = _range(args, unit.tz)
    shifts = roster.shifts(unit.id, start, end, _chat_overrides(args))
    if args.json:
        print(json.dumps([_shift_json(s) for s in shifts], ensure_ascii=False, indent=1))
        return 0
    print(f"{unit.name} ({unit.id}) from {_stamp(start)} to {_stamp(end)}, {unit.tz.key}")
    for shift in shifts:
        mark = "" if shift.source == "rotation" else f"  ({shift.source})"
        if shift.covers:
            mark += f"  (for {roster.people.get(shift.covers, shift.covers)}, on leave)"
        print(f"  {_stamp(shift.start)}  {_stamp(shift.end)}  {shift.role:<10} {shift.name} <{shift.user}>{mark}")
    if not shifts:
        print("  (no shifts)")
    return 0


def _shift_json(shift: Shift) -> dict[str, str]:
    covers = {"covers": shift.covers} if shift.covers else {}
    return {
        **covers,
        "unit": shift.unit,
        "role": shift.role,
        "user": shift.user,
        "name": shift.name,
        "start": shift.start.isoformat(),
        "end": shift.end.isoformat(),
        "source": shift.source,
    }


def _ics(args: argparse.Namespace) -> int:
    roster = _roster(args)
    config = _config(args)
    words = calendar_words(config.bot.language if config else "sv")  # the bot's language, as its own feeds
    if args.unit:
        unit = roster.unit(args.unit)
        start, end = _range(args, unit.tz)
        data = unit_ics(roster, unit.id, start, end, words, _chat_overrides(args))
    else:
        if args.person not in roster.people:
            raise UsageError(f"unknown person {args.person!r}; people are listed in people.toml")
        tz = next((u.tz for u in roster.units.values() if args.person in u.members), roster.default_zone)
        start, end = _range(args, tz)
        data = person_ics(roster, args.person, start, end, words, _chat_overrides(args))
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _range(args: argparse.Namespace, tz: tzinfo) -> tuple[datetime, datetime]:
    """--from/--to as instants; a bare date in --to includes that whole day."""
    start, end = _bound(args.start, tz, whole_day=False), _bound(args.end, tz, whole_day=True)
    if end <= start:
        raise UsageError(f"--to {args.end} is not after --from {args.start}")
    return start, end


def _bound(text: str, tz: tzinfo, whole_day: bool) -> datetime:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return parse_instant(text, tz)
    return day_start(day + timedelta(days=1) if whole_day else day, tz)


def _stamp(at: datetime, tz: tzinfo | None = None) -> str:
    shown = at.astimezone(tz) if tz else at
    return f"{shown:%a %Y-%m-%d %H:%M}{shown.isoformat()[-6:]}"
