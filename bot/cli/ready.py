"""`jourbot roster ready -c config.toml [--json]`: who on the coming week's rosters cannot be reached, and why.

Asks the homeserver with the bot's saved session, read-only (bot/matrix/reachability.py): a running bot's device,
crypto store and sync are left alone. Reads overrides, direct rooms and check-ins from the bot's database.
Exit 0: everyone can be reached; 1: someone cannot, or the check could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot import config as config_module
from bot.matrix.reachability import ReachabilityError, reach, saved_session
from bot.readiness.assess import as_json, assess, on_rosters, report_text
from bot.store import Store
from bot.store.secretbox import SecretBox
from rosters import load_dir


def add_ready_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ready = sub.add_parser("ready", help="who on the next days' rosters cannot be reached, and why")
    ready.add_argument("-c", "--config", default="config.toml", type=Path)
    ready.add_argument("--days", type=int, help="how many days ahead (default: readiness.days in the config, 7)")
    ready.add_argument("--json", action="store_true", help="print one JSON object")
    ready.set_defaults(func=run_ready)


def run_ready(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    days = config.readiness.days if args.days is None else args.days
    if days < 1:
        print("jourbot roster ready: --days must be at least 1", file=sys.stderr)
        return 2
    roster = load_dir(config.rosters_dir)
    session = saved_session(config.state_dir)
    if session is None:
        print(f"jourbot roster ready: the bot has not logged in yet (no {config.state_dir / 'credentials.json'});"
              " start it once with `jourbot run`", file=sys.stderr)
        return 1
    now = datetime.now(UTC)
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"),
                  database=config.storage.database)
    try:
        roster = roster.with_leave(store.leave.active())  # as the bot runs it: someone on leave is not asked
        people = on_rosters(roster, store.overrides.active(), now, days)
        rooms = store.direct_rooms.all()
        last = {p.user: store.checkins.last_asked(p.user, now.timestamp()) for p in people}
        changed = {pin.user_id for pin in store.identities.changed()}
    finally:
        store.close()
    try:
        facts = asyncio.run(reach(session, {p.user: rooms.get(p.user) for p in people}))
    except ReachabilityError as err:
        print(f"jourbot roster ready: could not ask the homeserver: {err}", file=sys.stderr)
        return 1
    lang = config.bot.language
    findings = assess(people, facts, rooms, last, config.matrix.trust, lang, roster.default_zone,
                      roster.phone if config.sms.enabled else None, identity_changed=changed)
    if args.json:
        print(json.dumps(as_json(findings, now, days), ensure_ascii=False, indent=1))
    else:
        print(report_text(findings, roster, now, days, lang))
    return 1 if any(f.problems for f in findings) else 0
