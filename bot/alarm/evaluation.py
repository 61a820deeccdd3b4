"""Figures for the evaluation, from alarms, their phases and their handovers: one row of facts per alarm (the CSV for
evaluators), the period's figures (`!statistik`) and the monthly figures per area kept beyond the retention purge.

Nothing here carries free text or a name: ids, times, counts and words from fixed lists. The acceptor's Matrix id is
in the facts but leaves only when asked for explicitly (`jourbot stats --with-responder-ids`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alarm.machine import Alarm
from bot.alarm.stats import figures
from bot.core.figures import Evaluation
from bot.core.phases import DECISIONS
from bot.store.handovers import HandoverRow
from bot.store.phases import PhaseRecord

# "The same night": a protection assessment recorded as made within this time of the alarm. A night shift is at most
# twelve hours; an assessment later than that was made by someone else, another day.
SAME_NIGHT_S = 12 * 3600
_JUST_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class AlarmFacts:
    alarm: str
    area: str
    raised_at: datetime
    unit: str  # the unit that answered (from the roster at the alarm's instant)
    unit_name: str
    office: bool  # that unit was the area's district office, in its office hours
    status: str
    accepted_after_s: float | None
    escalations: int
    fallback: bool
    cancelled: bool
    on_the_way_after_s: float | None
    eta_minutes: int | None
    arrived_after_s: float | None
    assessment: str  # "made", "not_made" or ""
    assessed_same_night: bool
    decision: str
    handed_over_after_s: float | None
    handover_listed_at: datetime | None
    handover_received_after_s: float | None  # from the office's opening to `!mottaget`
    responder: str  # the acceptor's Matrix id; never written unless asked for
    responders_needed: int = 1  # how many go out together
    all_accepted_after_s: float | None = None  # until the last of them accepted
    case_number: str = ""  # the police's händelsenummer, to match their records


def facts(alarm: Alarm, phases: Sequence[PhaseRecord], handover: HandoverRow | None,
          office_unit: str | None) -> AlarmFacts:
    raised = alarm.raised_at.timestamp()
    by_phase = {p.phase: p for p in phases}

    def after(phase: str) -> float | None:
        found = by_phase.get(phase)
        return None if found is None else round(found.at - raised, 1)

    assessment = by_phase.get("assessment")
    made = assessment is not None and bool(assessment.assessment_made)
    en_route = by_phase.get("en_route")
    return AlarmFacts(
        alarm=alarm.id,
        area=alarm.area,
        raised_at=alarm.raised_at,
        unit=alarm.unit,
        unit_name=alarm.unit_name,
        office=office_unit is not None and alarm.unit == office_unit,
        status=alarm.status,
        accepted_after_s=None if alarm.accepted_at is None else round(alarm.accepted_at.timestamp() - raised, 1),
        escalations=alarm.escalations,
        fallback=alarm.fallback_at is not None,
        cancelled=alarm.status == "cancelled",
        on_the_way_after_s=after("en_route"),
        eta_minutes=None if en_route is None else en_route.eta_minutes,
        arrived_after_s=after("arrived"),
        assessment="" if assessment is None else ("made" if made else "not_made"),
        assessed_same_night=made and assessment is not None and assessment.at - raised <= SAME_NIGHT_S,
        decision=(assessment.decision or "") if made and assessment is not None else "",
        handed_over_after_s=after("handed_over"),
        handover_listed_at=None if handover is None else datetime.fromtimestamp(handover.posted_at,
                                                                               alarm.raised_at.tzinfo),
        handover_received_after_s=None if handover is None or handover.received_at is None
        else round(handover.received_at - handover.opened_at, 1),
        responder=alarm.accepted_by or "",
        responders_needed=alarm.needed,
        all_accepted_after_s=None if alarm.filled_at is None else round(alarm.filled_at.timestamp() - raised, 1),
        case_number=alarm.case_number or "",
    )


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: always a value some alarm actually had."""
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1] if ordered else None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def evaluate(rows: Iterable[AlarmFacts], now: datetime | None = None) -> Evaluation:
    """The figures after acceptance; with `now`, an alarm still within its SAME_NIGHT_S and not yet assessed is left
    out of the share assessed in time (without, as for a month that is over, every one counts)."""
    chosen = list(rows)
    went_out = [f for f in chosen if f.accepted_after_s is not None and not f.cancelled]
    assessable = [f for f in went_out if now is None or f.assessment
                  or (now - f.raised_at).total_seconds() > SAME_NIGHT_S]
    arrivals = [f.arrived_after_s for f in went_out if f.arrived_after_s is not None]
    received = [f.handover_received_after_s for f in chosen if f.handover_received_after_s is not None]
    decisions = Counter(f.decision for f in chosen if f.decision in DECISIONS)
    return Evaluation(
        accepted=len(went_out),
        arrival_n=len(arrivals),
        arrival_median_s=_median(arrivals),
        arrival_p90_s=nearest_rank(arrivals, 0.9),
        assessed_same_night=sum(f.assessed_same_night for f in went_out),
        assessable=len(assessable),
        decisions={d: decisions[d] for d in DECISIONS if decisions[d]},
        handovers=sum(f.handover_listed_at is not None for f in chosen),
        received=len(received),
        received_median_s=_median(received),
        by_unit=dict(sorted(Counter(f.unit_name for f in chosen).items())),
    )


def month_figures(alarms: Sequence[Alarm], rows: Sequence[AlarmFacts]) -> dict[str, Any]:
    """One area's month (or the city's), JSON-safe, as kept in the store after the alarms themselves are purged. A
    month without alarms has its zeros."""
    # Every alarm given, whenever in the month: [first, last] as the half-open interval figures() counts over.
    first = min((a.raised_at for a in alarms), default=datetime.fromtimestamp(0, UTC))
    base = figures(alarms, first, max((a.raised_at for a in alarms), default=first) + _JUST_AFTER)
    kept = asdict(base)
    kept.pop("per_area", None)
    kept.update({f"after_{k}": v for k, v in asdict(evaluate(rows)).items()})
    kept["office"] = sum(f.office for f in rows)
    return kept


CSV_COLUMNS = (
    "alarm", "area", "raised_at", "unit", "office_hours", "status", "accepted_after_s", "escalations", "fallback",
    "cancelled", "on_the_way_after_s", "eta_minutes", "arrived_after_s", "assessment", "assessed_same_night",
    "decision", "handed_over_after_s", "handover_listed_at", "handover_received_after_s", "responders_needed",
    "all_accepted_after_s", "case_number",
)


def csv_row(row: AlarmFacts, with_responder: bool = False) -> list[str]:
    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, float):
            return f"{value:g}" if value != int(value) else str(int(value))
        return str(value)

    values = [row.alarm, row.area, row.raised_at, row.unit, row.office, row.status, row.accepted_after_s,
              row.escalations, row.fallback, row.cancelled, row.on_the_way_after_s, row.eta_minutes,
              row.arrived_after_s, row.assessment, row.assessed_same_night, row.decision, row.handed_over_after_s,
              row.handover_listed_at, row.handover_received_after_s, row.responders_needed,
              row.all_accepted_after_s, row.case_number]
    if with_responder:
        values.append(row.responder)
    return [text(v) for v in values]
