"""`jourbot stats --from DATE --to DATE [--area A] --csv -c config.toml`: the figures for evaluators.

One row per alarm raised in the period: ids, times, counts and words from fixed lists; never free text, never a
name. The acceptor's Matrix id is a column only with `--with-responder-ids`. `--monthly` prints instead the monthly
figures per area the bot keeps after the alarms themselves are purged, so years can be compared.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from bot import config as config_module
from bot.alarm.evaluation import CSV_COLUMNS, csv_row, evaluate
from bot.alarm.evaluation_service import EvaluationService
from bot.alarm.stats import figures
from bot.core.phases import DECISIONS
from bot.store import Store
from bot.store.secretbox import SecretBox
from rosters import load_dir
from rosters.wallclock import day_start


def add_stats_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = subparsers.add_parser("stats", help="figures for evaluators: one row per alarm, no free text, no names")
    stats.add_argument("--from", dest="start", required=True, type=date.fromisoformat, help="first day, YYYY-MM-DD")
    stats.add_argument("--to", dest="end", required=True, type=date.fromisoformat, help="last day, YYYY-MM-DD")
    stats.add_argument("--area", help="one area (its name, id or alias)")
    stats.add_argument("--csv", action="store_true", help="CSV on standard output")
    stats.add_argument("--with-responder-ids", action="store_true",
                       help="add the acceptor's Matrix id to each row (personal data: only when needed)")
    stats.add_argument("--monthly", action="store_true",
                       help="the monthly figures per area kept beyond the retention purge, instead of alarms")
    stats.add_argument("-c", "--config", default="config.toml", type=Path)
    stats.set_defaults(func=run_stats)


def run_stats(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print(f"--to {args.end} is before --from {args.start}", file=sys.stderr)
        return 2
    config = config_module.load(args.config)
    roster = load_dir(config.rosters_dir)
    area = None
    if args.area:
        found = roster.find_area(args.area)
        if found is None:
            known = ", ".join(sorted(a.name for a in roster.areas.values()))
            print(f"unknown area {args.area!r}; the areas are: {known}", file=sys.stderr)
            return 2
        area = found.id
    tz = roster.default_zone
    start, end = day_start(args.start, tz), day_start(args.end + timedelta(days=1), tz)
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key(), "data"),
                  database=config.storage.database)
    try:
        if args.monthly:
            _monthly(store, args.start, args.end, area, args.csv)
        else:
            _alarms(EvaluationService(store, lambda: roster), start, end, area, args)
    finally:
        store.close()
    return 0


def _alarms(service: EvaluationService, start: datetime, end: datetime, area: str | None,
            args: argparse.Namespace) -> None:
    alarms, rows = service.facts_between(start, end, area)
    if args.csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow([*CSV_COLUMNS, *(["responder"] if args.with_responder_ids else [])])
        for row in rows:
            out.writerow(csv_row(row, args.with_responder_ids))
        return
    base, after = figures(alarms, start, end), evaluate(rows)
    summary = {"from": start.isoformat(), "to": end.isoformat(), "area": area or "*",
               "alarms": base.count, "accepted": base.accepted, "cancelled": base.cancelled,
               "accept_median_s": base.median_s, "accept_p90_s": base.p90_s,
               "arrival_median_s": after.arrival_median_s, "arrival_p90_s": after.arrival_p90_s,
               "assessed_same_night": after.assessed_same_night, "decisions": after.decisions,
               "handovers": after.handovers, "handovers_received": after.received,
               "handover_received_median_s": after.received_median_s, "by_unit": after.by_unit}
    print(json.dumps(summary, ensure_ascii=False, indent=2))


MONTHLY_COLUMNS = (
    "month", "area", "count", "accepted", "closed", "cancelled", "escalated", "fallbacks", "median_s", "p90_s",
    "office", "after_accepted", "after_arrival_n", "after_arrival_median_s", "after_arrival_p90_s",
    "after_assessed_same_night", "after_handovers", "after_received", "after_received_median_s",
)


def _monthly(store: Store, first: date, last: date, area: str | None, as_csv: bool) -> None:
    kept = store.area_months.between(f"{first:%Y-%m}", f"{last:%Y-%m}", area)
    if not as_csv:
        print(json.dumps([{"month": m, "area": a, **f} for a, m, f in kept], ensure_ascii=False, indent=2))
        return
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow([*MONTHLY_COLUMNS, *(f"decision_{d}" for d in DECISIONS)])
    for area_id, month, entry in kept:
        values = [month, area_id, *(entry.get(c, "") for c in MONTHLY_COLUMNS[2:])]
        values += [entry.get("after_decisions", {}).get(d, 0) for d in DECISIONS]
        out.writerow(["" if v is None else v for v in values])
