"""`jourbot audit verify -c config.toml`: check the audit trail's hash chain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import config as config_module
from bot.store import Store
from bot.store.secretbox import SecretBox


def add_audit_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = subparsers.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain of the audit trail")
    verify.add_argument("-c", "--config", default="config.toml", type=Path)
    verify.set_defaults(func=verify_audit)


def verify_audit(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"))
    try:
        ok, count, problem = store.audit.verify()
    finally:
        store.close()
    if ok:
        print(f"audit trail intact: {count} entries")
        return 0
    print(f"audit trail BROKEN after {count} entries: {problem}", file=sys.stderr)
    return 1
