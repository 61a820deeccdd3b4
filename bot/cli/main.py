"""`jourbot`: run | roster … | crosssign status | audit verify | stats | demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from bot import config as config_module
from bot.cli.audit import add_audit_parser
from bot.cli.crosssign import add_crosssign_parser
from bot.cli.roster import add_roster_parser
from bot.cli.stats import add_stats_parser
from bot.config_checks import checkin_problems
from bot.matrix.port import SessionRevoked
from bot.store import SchemaTooNew
from rosters import RosterError, load_dir


def preflight(config: config_module.Config) -> list[str]:
    """What would stop the bot, found before it touches the homeserver: secrets, rosters, the first login, storage."""
    problems: list[str] = []
    for secret in (config.pickle_key, config.data_key):
        try:
            secret()
        except config_module.ConfigError as err:
            problems.append(str(err))
    try:
        roster = load_dir(config.rosters_dir)
    except RosterError as err:
        problems.append(f"the rosters in {config.rosters_dir} cannot be used:")
        problems.extend(f"  {p}" for p in err.problems)
    else:
        problems.extend(checkin_problems(config, roster))
    try:
        password = config.password()
    except config_module.ConfigError as err:
        problems.append(str(err))
        password = "unknown"
    if not (config.state_dir / "credentials.json").exists() and not password:
        problems.append("the first start logs in with a password: set matrix.password_file or the environment"
                        f" variable {config.matrix.password_env or '(matrix.password_env)'}")
    if config.sms.enabled:
        try:
            config.sms_credentials()
        except config_module.ConfigError as err:
            problems.append(str(err))
    state = config.state_dir
    probe = state if state.exists() else state.parent
    if not os.access(probe, os.W_OK):
        problems.append(f"{probe} is not writable for this user: the bot keeps its device and database there")
    return problems


def _run(args: argparse.Namespace) -> int:
    from bot.app import App  # the runtime (nio and all) loads only for the commands that run it
    from bot.logsetup import setup_logging

    config = config_module.load(args.config)
    problems = preflight(config)
    if problems:
        print("jourbot cannot start:\n" + "\n".join(problems), file=sys.stderr)
        return 2
    setup_logging(config.bot.log_level)

    async def main() -> None:
        app = App(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, app.stop.set)
        await app.run()

    try:
        asyncio.run(main())
    except SessionRevoked as err:
        print(f"jourbot stopped: {err}. See the log for what to do.", file=sys.stderr)
        return 3
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.cli.demo import main

    return main(Path(args.root).resolve())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jourbot", description="Pages the social worker on call (Matrix bot).")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", default="config.toml", type=Path)
    run.set_defaults(func=_run)

    demo = sub.add_parser("demo", help="local homeserver + demo accounts + bot (what `make run` does)")
    demo.add_argument("--root", default=".", help="the repository folder")
    demo.set_defaults(func=_demo)

    add_audit_parser(sub)
    add_roster_parser(sub)
    add_crosssign_parser(sub)
    add_stats_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except config_module.ConfigError as err:
        print(f"configuration error:\n{err}", file=sys.stderr)
        return 2
    except SchemaTooNew as err:
        print(f"database error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
