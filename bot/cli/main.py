"""`jourbot`: run | roster … | crosssign status | audit verify | demo."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from bot import config as config_module


def _run(args: argparse.Namespace) -> int:
    from bot.app import App
    from bot.logsetup import setup_logging

    config = config_module.load(args.config)
    setup_logging(config.bot.log_level)

    async def main() -> None:
        app = App(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, app.stop.set)
        await app.run()

    asyncio.run(main())
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from bot.secretbox import SecretBox
    from bot.store import Store

    config = config_module.load(args.config)
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"))
    ok, count, problem = store.verify_audit()
    store.close()
    if ok:
        print(f"audit trail intact: {count} entries")
        return 0
    print(f"audit trail BROKEN after {count} entries: {problem}", file=sys.stderr)
    return 1


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import main

    return main(Path(args.root).resolve())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jourbot", description="Pages the social worker on call (Matrix bot).")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", default="config.toml", type=Path)
    run.set_defaults(func=_run)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain of the audit trail")
    verify.add_argument("-c", "--config", default="config.toml", type=Path)
    verify.set_defaults(func=_audit_verify)

    demo = sub.add_parser("demo", help="local homeserver + demo accounts + bot (what `make run` does)")
    demo.add_argument("--root", default=".", help="the repository folder")
    demo.set_defaults(func=_demo)

    try:
        from bot.roster_cli import add_roster_parser
    except ImportError:  # pragma: no cover - the roster engine is part of the package
        pass
    else:
        add_roster_parser(sub)
    try:
        from bot.crosssign_cli import add_crosssign_parser
    except ImportError:
        pass
    else:
        add_crosssign_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None and args.command == "roster":
        from bot.roster_cli import run_roster

        func = run_roster
    try:
        return int(func(args))
    except config_module.ConfigError as err:
        print(f"configuration error:\n{err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
