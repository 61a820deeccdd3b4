"""`jourbot crosssign status -c config.toml`: the bot's cross-signing keys and whether its device is signed.
`jourbot crosssign reset -c config.toml --new-identity`: a new identity on purpose, when the old keys are lost.

An administrator compares the master key fingerprint with what their client shows before verifying the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot import config as config_module
from bot.matrix.crosssign import CrossSigningError, cross_signing_status, ensure_cross_signing
from bot.store import Store
from bot.store.cross_signing import read_master_key
from bot.store.db import Unreadable
from bot.store.secretbox import SecretBox


def add_crosssign_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("crosssign", help="the bot's cross-signing identity")
    sub = parser.add_subparsers(dest="crosssign_command", required=True)
    status = sub.add_parser("status", help="show the master key fingerprint and whether this device is signed")
    status.add_argument("-c", "--config", default="config.toml", type=Path)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=run_status)
    reset = sub.add_parser(
        "reset", help="make the bot a new cross-signing identity (everyone who verified the bot must do it again)")
    reset.add_argument("-c", "--config", default="config.toml", type=Path)
    reset.add_argument("--new-identity", action="store_true",
                       help="yes: replace the identity the homeserver has; without it nothing is changed")
    reset.set_defaults(func=run_reset)


def _saved_login(config: config_module.Config) -> dict[str, str] | None:
    """The login of this instance's device, or None (and why, said) if it never logged in."""
    credentials = config.state_dir / "credentials.json"
    if not credentials.exists():
        print(f"the bot has not logged in yet (no {credentials}); start it once with `jourbot run`", file=sys.stderr)
        return None
    saved: dict[str, str] = json.loads(credentials.read_text())
    return saved


def run_status(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    saved = _saved_login(config)
    if saved is None:
        return 1
    try:
        held = read_master_key(config.state_dir / "jourbot.db", config.storage.database)
        report = asyncio.run(
            cross_signing_status(
                config.matrix.homeserver,
                saved["access_token"],
                saved["user_id"],
                saved["device_id"],
                config.state_dir / "cross-signing.keys",
                config.pickle_key(),
                database_master=held,
            )
        )
    except (CrossSigningError, OSError, Unreadable) as err:
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


def run_reset(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    saved = _saved_login(config)
    if saved is None:
        return 1
    if not args.new_identity:
        print("a reset gives the bot a new cross-signing identity: everyone who verified the bot must verify it again,"
              " and every instance's device must be signed anew (start them again afterwards). Only when the old keys"
              " are lost for good: run again with --new-identity", file=sys.stderr)
        return 1
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"),
                  database=config.storage.database)
    try:
        if not store.db.exclusive():
            # A running instance would go on with its device signed by the identity being replaced.
            print("the database is in use (is an instance running?): stop every instance and try again",
                  file=sys.stderr)
            return 1
        status = asyncio.run(
            ensure_cross_signing(
                config.matrix.homeserver,
                saved["access_token"],
                saved["user_id"],
                saved["device_id"],
                config.password() or None,
                config.state_dir / "cross-signing.keys",
                config.pickle_key(),
                identity=store.own_identity,
                reset=True,
            )
        )
        with store.transaction():
            store.audit.append("jourbot", "crosssign.reset", "", {"master": status.master_key})
    except (CrossSigningError, OSError) as err:
        print(f"could not reset the cross-signing identity: {err}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"new cross-signing identity of {status.user_id}: master key {status.master_fingerprint}")
    print("start every instance again so that each signs its device with it; ask people to verify the bot anew")
    return 0
