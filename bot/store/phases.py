"""What the responder did after accepting an alarm: on the way, arrived, the child's protection assessment, handed
over. One row per alarm and phase; recording a phase again replaces it (a corrected ETA, a changed decision), so the
table always says the latest word. No free text is stored here: every field is a time, a number or a fixed word."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.phases import DECISIONS, PHASES
from bot.store.db import Database

_COLUMNS = "alarm_id, phase, at, by, eta_minutes, assessment_made, decision, unit"


@dataclass(frozen=True)
class PhaseRecord:
    alarm_id: str
    phase: str
    at: float  # unix seconds, like the other tables
    by: str
    eta_minutes: int | None = None  # en_route
    assessment_made: bool | None = None  # assessment
    decision: str | None = None  # assessment
    unit: str | None = None  # handed_over: the receiving unit's name/id


def _row(r: tuple[Any, ...]) -> PhaseRecord:
    return PhaseRecord(
        alarm_id=str(r[0]), phase=str(r[1]), at=float(r[2]), by=str(r[3]),
        eta_minutes=None if r[4] is None else int(r[4]),
        assessment_made=None if r[5] is None else bool(r[5]),
        decision=None if r[6] is None else str(r[6]),
        unit=None if r[7] is None else str(r[7]),
    )


_ORDER = "CASE phase " + " ".join(f"WHEN '{p}' THEN {i}" for i, p in enumerate(PHASES)) + " END"


class Phases:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, record: PhaseRecord) -> None:
        if record.phase not in PHASES:
            raise ValueError(f"unknown phase {record.phase!r}")
        if record.decision is not None and record.decision not in DECISIONS:
            raise ValueError(f"unknown decision {record.decision!r}")
        made = None if record.assessment_made is None else int(record.assessment_made)
        self.db.execute(
            f"INSERT INTO alarm_phases({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(alarm_id, phase)"
            " DO UPDATE SET at = excluded.at, by = excluded.by, eta_minutes = excluded.eta_minutes,"
            " assessment_made = excluded.assessment_made, decision = excluded.decision, unit = excluded.unit",
            [record.alarm_id, record.phase, record.at, record.by, record.eta_minutes, made, record.decision,
             record.unit],
        )

    def of(self, alarm_id: str) -> list[PhaseRecord]:
        """The alarm's phases, in PHASES order."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM alarm_phases WHERE alarm_id = ? ORDER BY {_ORDER}", [alarm_id]
        ).fetchall()
        return [_row(r) for r in rows]

    def between(self, start: float, end: float) -> list[PhaseRecord]:
        """Every phase recorded at `start` <= at < `end`, by time."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM alarm_phases WHERE at >= ? AND at < ? ORDER BY at, alarm_id, {_ORDER}",
            [start, end],
        ).fetchall()
        return [_row(r) for r in rows]
