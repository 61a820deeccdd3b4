"""The handover to the district offices: when each office next opens (the timer of its morning list), and each
alarm handed over, with its reminders and who received it. Rows hold ids and times only, never free text."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.store.db import Database, Topic


@dataclass(frozen=True)
class Opening:
    unit: str
    at: float  # the unit's next opening: its list is posted then
    since: float  # alarms accepted from this instant on are the candidates (the previous list took the earlier ones)


@dataclass(frozen=True)
class HandoverRow:
    alarm_id: str
    unit: str
    area: str
    opened_at: float  # the opening it was listed for
    posted_at: float
    remind_at: float | None  # the next reminder; None once every reminder went out or it was received
    reminders: int  # 0: none yet; 1: the unit's supervisors; 2: also the duty unit's
    received_by: str | None = None
    received_at: float | None = None


_COLUMNS = "alarm_id, unit, area, opened_at, posted_at, remind_at, reminders, received_by, received_at"


def _row(r: tuple[object, ...]) -> HandoverRow:
    return HandoverRow(str(r[0]), str(r[1]), str(r[2]), float(str(r[3])), float(str(r[4])),
                       None if r[5] is None else float(str(r[5])), int(str(r[6])),
                       None if r[7] is None else str(r[7]), None if r[8] is None else float(str(r[8])))


class Handovers:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- the openings: one timer per district office -------------------------------------------------------------
    def opening(self, unit: str) -> Opening | None:
        row = self.db.execute("SELECT unit, at, since FROM handover_openings WHERE unit = ?", [unit]).fetchone()
        return None if row is None else Opening(str(row[0]), float(row[1]), float(row[2]))

    def set_opening(self, opening: Opening) -> None:
        self.db.execute("INSERT OR REPLACE INTO handover_openings(unit, at, since) VALUES (?, ?, ?)",
                        [opening.unit, opening.at, opening.since])
        self.db.changed(Topic.HANDOVERS)

    def drop_opening(self, unit: str) -> None:
        self.db.execute("DELETE FROM handover_openings WHERE unit = ?", [unit])
        self.db.changed(Topic.HANDOVERS)

    def openings_due(self, now: float) -> list[Opening]:
        rows = self.db.execute(
            "SELECT unit, at, since FROM handover_openings WHERE at <= ? ORDER BY at, unit", [now]).fetchall()
        return [Opening(str(r[0]), float(r[1]), float(r[2])) for r in rows]

    # --- the alarms handed over ------------------------------------------------------------------------------------
    def add(self, row: HandoverRow) -> None:
        self.db.execute(
            f"INSERT INTO handovers({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            [row.alarm_id, row.unit, row.area, row.opened_at, row.posted_at, row.remind_at, row.reminders],
        )
        self.db.changed(Topic.HANDOVERS)

    def get(self, alarm_id: str) -> HandoverRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM handovers WHERE alarm_id = ?", [alarm_id]).fetchone()
        return None if row is None else _row(tuple(row))

    def waiting(self) -> list[HandoverRow]:
        """Listed and not yet received, oldest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM handovers WHERE received_at IS NULL ORDER BY posted_at, alarm_id").fetchall()
        return [_row(tuple(r)) for r in rows]

    def waiting_since(self) -> tuple[int, float | None]:
        """How many are listed and not yet received, and when the oldest of them was listed (for /metrics)."""
        row = self.db.execute("SELECT COUNT(*), MIN(posted_at) FROM handovers WHERE received_at IS NULL").fetchone()
        return int(row[0]), None if row[1] is None else float(row[1])

    def for_alarms(self, alarm_ids: list[str]) -> dict[str, HandoverRow]:
        if not alarm_ids:
            return {}
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM handovers WHERE alarm_id IN (SELECT value FROM json_each(?))",
                               [json.dumps(alarm_ids)]).fetchall()
        return {str(r[0]): _row(tuple(r)) for r in rows}

    def reminders_due(self, now: float) -> list[HandoverRow]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM handovers WHERE received_at IS NULL AND remind_at IS NOT NULL AND remind_at <= ?"
            " ORDER BY remind_at, alarm_id", [now]).fetchall()
        return [_row(tuple(r)) for r in rows]

    def reminded(self, alarm_id: str, reminders: int, next_at: float | None) -> None:
        self.db.execute("UPDATE handovers SET reminders = ?, remind_at = ? WHERE alarm_id = ?",
                        [reminders, next_at, alarm_id])
        self.db.changed(Topic.HANDOVERS)

    def receive(self, alarm_id: str, by: str, at: float) -> bool:
        """Mark it received; False if it already was (the first acknowledgement wins)."""
        cur = self.db.execute(
            "UPDATE handovers SET received_by = ?, received_at = ?, remind_at = NULL"
            " WHERE alarm_id = ? AND received_at IS NULL", [by, at, alarm_id])
        self.db.changed(Topic.HANDOVERS)
        return cur.rowcount == 1

    def next_at(self) -> float | None:
        """The earliest instant something is due: an office opening or a reminder."""
        row = self.db.execute(
            "SELECT MIN(t) FROM (SELECT MIN(at) AS t FROM handover_openings"
            " UNION ALL SELECT MIN(remind_at) FROM handovers WHERE received_at IS NULL)").fetchone()
        return None if row is None or row[0] is None else float(row[0])
