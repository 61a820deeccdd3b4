"""`jourbot audit verify -c config.toml [--head SEQ:MAC] [--json]`: check the audit trail's MAC chain, and the trail
against its head file and a head read from chat. Exit 0: intact and whole; 1: altered, rewritten or cut."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import config as config_module
from bot.store import Store
from bot.store.audit import Head
from bot.store.secretbox import SecretBox


def add_audit_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = subparsers.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the audit trail's MAC chain and its head")
    verify.add_argument("-c", "--config", default="config.toml", type=Path)
    verify.add_argument("--head", action="append", default=[], metavar="SEQ:MAC",
                        help="a head the bot posted to the supervisors (may be given more than once)")
    verify.add_argument("--json", action="store_true", help="the verdict as JSON, for machines")
    verify.set_defaults(func=verify_audit)


def verify_audit(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    try:
        given = [Head.parse(text) for text in args.head]
    except ValueError as err:
        print(f"--head: {err}", file=sys.stderr)
        return 2
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"))
    try:
        heads: list[tuple[str, Head]] = [("chat", head) for head in given]
        saved = store.audit.head_from_file()
        problems: list[str] = []
        if saved is not None:
            heads.insert(0, (f"the head file {store.audit.head_path}", saved))
        elif store.audit.head() is not None:
            problems.append(f"the head file {store.audit.head_path} is missing")
        verdict = store.audit.check(heads)
        verdict.problems.extend(problems)
    finally:
        store.close()
    report: dict[str, Any] = {
        "ok": verdict.ok,
        "entries": verdict.entries,
        "last": None if verdict.last is None else {"seq": verdict.last.seq, "mac": verdict.last.mac},
        "head_file": None if saved is None else {"seq": saved.seq, "mac": saved.mac},
        "heads_given": [{"seq": h.seq, "mac": h.mac} for h in given],
        "problems": verdict.problems,
        "gaps": verdict.gaps,
        "rekeyed": verdict.rekeyed,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0 if verdict.ok else 1
    for gap in verdict.gaps:
        when = datetime.fromtimestamp(gap["at"], UTC).isoformat(timespec="seconds")
        print(f"note: at {when} the bot found the trail cut and recorded it (entry {gap['seq']}): {gap.get('found')}")
    for rekeyed in verdict.rekeyed:
        if rekeyed.get("old_chain") != "intact":
            print(f"note: entry {rekeyed['seq']} MACed the trail anew ({rekeyed.get('from')}); the chain before was"
                  f" not intact: {rekeyed.get('old_chain')}")
    if verdict.ok:
        last = f", head {verdict.last}" if verdict.last else ""
        checked = " and ".join(where for where, _ in heads) or "no head"
        print(f"audit trail intact: {verdict.entries} entries{last}; checked against {checked}")
        return 0
    print(f"audit trail BROKEN ({verdict.entries} entries read):", file=sys.stderr)
    for problem in verdict.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1
