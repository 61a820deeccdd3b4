"""`jourbot crosssign status -c config.toml`: the bot's cross-signing keys and whether its device is signed.

An administrator compares the master key fingerprint with what their client shows before verifying the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot import config as config_module
from bot.matrix.crosssign import CrossSigningError, cross_signing_status


def add_crosssign_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("crosssign", help="the bot's cross-signing identity")
    sub = parser.add_subparsers(dest="crosssign_command", required=True)
    status = sub.add_parser("status", help="show the master key fingerprint and whether this device is signed")
    status.add_argument("-c", "--config", default="config.toml", type=Path)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=run_status)


def run_status(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    credentials = config.state_dir / "credentials.json"
    if not credentials.exists():
        print(f"the bot has not logged in yet (no {credentials}); start it once with `jourbot run`", file=sys.stderr)
        return 1
    saved = json.loads(credentials.read_text())
    try:
        report = asyncio.run(
            cross_signing_status(
                config.matrix.homeserver,
                saved["access_token"],
                saved["user_id"],
                saved["device_id"],
                config.state_dir / "cross-signing.keys",
                config.pickle_key(),
            )
        )
    except (CrossSigningError, OSError) as err:
        print(f"could not read the cross-signing status: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
        return 0
    for key, value in report.items():
        print(f"{key:>26}: {value}")
    if not report.get("ok"):
        print("\nnot cross-signed: start the bot (it signs its device at start) and check its log", file=sys.stderr)
        return 1
    return 0
