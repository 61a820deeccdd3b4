"""Monthly figures per area, written once a month is over and never rewritten, so they outlive the retention purge of
the alarms they were counted from: a municipality compares years from them. Area "*" is the whole city, and its row
marks the month as kept."""

from __future__ import annotations

import json
from typing import Any

from bot.store.db import Database

ALL_AREAS = "*"


class AreaMonths:
    def __init__(self, db: Database) -> None:
        self.db = db

    def keep(self, area: str, month: str, figures: dict[str, Any], at: float) -> None:
        """Store the figures of `area` in `month` ("2026-11") unless they are stored already."""
        self.db.execute("INSERT INTO area_months(area, month, figures, computed_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        [area, month, json.dumps(figures, sort_keys=True), at])

    def is_kept(self, month: str) -> bool:
        row = self.db.execute("SELECT 1 FROM area_months WHERE area = ? AND month = ?", [ALL_AREAS, month]).fetchone()
        return row is not None

    def between(self, first: str, last: str, area: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """(area, month, figures) for months `first`..`last` inclusive, by month and area."""
        rows = self.db.execute(
            # COALESCE rather than `? IS NULL OR area = ?`: PostgreSQL cannot type a parameter tested only for NULL
            "SELECT area, month, figures FROM area_months WHERE month >= ? AND month <= ? AND area = COALESCE(?, area)"
            " ORDER BY month, area", [first, last, area]).fetchall()
        return [(str(r[0]), str(r[1]), json.loads(r[2])) for r in rows]

    def first_alarm_at(self) -> float | None:
        """When the oldest alarm still stored was raised: the first month that may need keeping."""
        row = self.db.execute("SELECT MIN(raised_at) FROM alarms").fetchone()
        return None if row is None or row[0] is None else float(row[0])
