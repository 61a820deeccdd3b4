"""`jourbot`: run | roster … | crosssign status | audit verify | keys new/rotate-data | stats | demo [--ha] |
--version."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from bot import config as config_module
from bot.cli.audit import add_audit_parser
from bot.cli.crosssign import add_crosssign_parser
from bot.cli.keys import add_keys_parser
from bot.cli.ports import Listener, listen_problems
from bot.cli.roster import add_roster_parser
from bot.cli.stats import add_stats_parser
from bot.config.checks import checkin_problems
from bot.duty import live as roster_live
from bot.ha.role import LostActing
from bot.matrix.port import SessionRevoked
from bot.store import SaltMissing, SchemaTooNew
from bot.store.db import Unreachable, Unreadable
from bot.store.roster_snapshots import read_last
from rosters import RosterError

# What the service manager acts on (bot/deploy/jourbot.service: RestartPreventExitStatus): retrying helps neither.
EXIT_CONFIG = 2  # the configuration, secrets, rosters or database are wrong
EXIT_REVOKED = 3  # the session was revoked and no password is configured
# Another instance took over, or the shared database went away or cannot be reached: started again, it stands by, or
# connects to whichever server takes writes by then.
EXIT_NOT_ACTING = 4

if TYPE_CHECKING:
    from bot.app import App


def preflight(config: config_module.Config) -> list[str]:
    """What would stop the bot, found before it touches the homeserver: secrets, rosters, the first login, the ports
    it listens on, storage."""
    problems: list[str] = []
    for secret in (config.pickle_key, config.data_key):
        try:
            secret()
        except config_module.ConfigError as err:
            problems.append(str(err))
    problems.extend(_roster_problems(config))
    try:
        password = config.password()
    except config_module.ConfigError as err:
        problems.append(str(err))
        password = "unknown"
    if not (config.state_dir / "credentials.json").exists() and not password:
        problems.append("the first start logs in with a password: set matrix.password_file or the environment"
                        f" variable {config.matrix.password_env or '(matrix.password_env)'}")
    if config.monitoring.enabled:
        try:
            config.metrics_token()
        except config_module.ConfigError as err:
            problems.append(str(err))
    if config.sms.enabled:
        try:
            config.sms_credentials()
        except config_module.ConfigError as err:
            problems.append(str(err))
    problems.extend(listen_problems(
        [Listener(key, section.host, section.port)
         for key, section in (("[monitoring]", config.monitoring), ("[web]", config.web)) if section.enabled],
        str(config.path)))
    state = config.state_dir
    probe = state if state.exists() else state.parent
    if not os.access(probe, os.W_OK):
        problems.append(f"{probe} is not writable for this user: the bot keeps its device and database there")
    return problems


def _roster_problems(config: config_module.Config) -> list[str]:
    """Why the bot has no roster to start on: the folder cannot be used and no good one was ever kept in its store.

    A folder that cannot be used with a good roster kept in the store is no reason not to start: the bot runs on
    that one and tells the supervisors (bot/duty/reload.py)."""
    try:
        stored = read_last(config.state_dir / "jourbot.db", config.storage.database)
    except (sqlite3.Error, Unreadable):
        stored = None
    try:
        started = roster_live.start(config.rosters_dir, stored, 0.0)
    except RosterError as err:
        return [f"the rosters in {config.rosters_dir} cannot be used, and no roster that worked before is kept in"
                " the bot's store to run on meanwhile. Fix these, then start again"
                f" (`jourbot roster check {config.rosters_dir}` lists them too):",
                *(f"  {p}" for p in err.problems)]
    return checkin_problems(config, started.roster)


def install_signal_handlers(app: App) -> None:
    """SIGINT and SIGTERM stop the bot; SIGHUP reloads the rosters (`kill -HUP`, `systemctl reload`)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.stop.set)
    loop.add_signal_handler(signal.SIGHUP, app.reload_requested)


def _run(args: argparse.Namespace) -> int:
    from bot.app import App  # the runtime (nio and all) loads only for the commands that run it
    from bot.logsetup import setup_logging
    from bot.matrix.crosssign import IdentityRefused, KeyFileError, UserInteractiveAuthRequired

    config = config_module.load(args.config)
    problems = preflight(config)
    if problems:
        print("jourbot cannot start:\n" + "\n".join(problems), file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(config.bot.log_level, config.logging.format)

    async def main() -> None:
        app = App(config)
        install_signal_handlers(app)
        await app.run()

    try:
        asyncio.run(main())
    except SessionRevoked as err:
        print(f"jourbot stopped: {err}. See the log for what to do.", file=sys.stderr)
        return EXIT_REVOKED
    except (IdentityRefused, KeyFileError, UserInteractiveAuthRequired) as err:
        # Starting again cannot help: the operator must restore the keys, or reset the identity on purpose.
        print(f"jourbot cannot start: cross-signing: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except LostActing as err:
        print(f"jourbot {err}; started again, it stands by (bot/ha/, docs/operations.md)", file=sys.stderr)
        return EXIT_NOT_ACTING
    except Unreachable as err:
        # Not the configuration's fault as such: a primary lost and its replica not yet promoted. Started again (by
        # systemd, which restarts on 4), it connects to whichever server takes writes by then.
        print(f"jourbot cannot start: {err}", file=sys.stderr)
        return EXIT_NOT_ACTING
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.ha:
        from bot.cli import demo_ha

        return demo_ha.main(Path(args.root).resolve())
    from bot.cli.demo import main

    return main(Path(args.root).resolve())


def _version() -> str:
    """The installed package's version (pyproject.toml's, as `make install` or the image installed it)."""
    try:
        return metadata.version("jourbot")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jourbot", description="Pages the social worker on call (Matrix bot).")
    parser.add_argument("--version", action="version", version=f"jourbot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", default="config.toml", type=Path)
    run.set_defaults(func=_run)

    demo = sub.add_parser("demo", help="local homeserver + demo accounts + bot (what `make run` does)")
    demo.add_argument("--root", default=".", help="the repository folder")
    demo.add_argument("--ha", action="store_true",
                      help="two instances on a PostgreSQL server of their own, one taking over (`make run-ha`)")
    demo.set_defaults(func=_demo)

    add_audit_parser(sub)
    add_roster_parser(sub)
    add_crosssign_parser(sub)
    add_keys_parser(sub)
    add_stats_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except config_module.ConfigError as err:
        print(f"configuration error:\n{err}", file=sys.stderr)
        return EXIT_CONFIG
    except (SchemaTooNew, SaltMissing) as err:
        print(f"database error: {err}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
