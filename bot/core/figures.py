"""The figures people read (`!statistik`, the browser view, the evaluators' CSV): what was counted, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AreaFigures:
    name: str
    count: int = 0
    accepted: int = 0


@dataclass(frozen=True)
class Figures:
    """!statistik over alarms raised in a period. Times in seconds; None when no alarm was accepted."""

    count: int
    accepted: int
    closed: int
    cancelled: int
    escalated: int
    escalations: int
    fallbacks: int
    median_s: float | None
    p90_s: float | None
    per_area: dict[str, AreaFigures] = field(default_factory=dict)
    # Alarms of units that go out more than one together: how many, and the time to the last acceptance needed.
    several: int = 0
    filled: int = 0
    filled_median_s: float | None = None
    filled_p90_s: float | None = None


@dataclass(frozen=True)
class Evaluation:
    """What happened after acceptance, over the alarms raised in a period. Times in seconds; None without data."""

    accepted: int = 0  # accepted and not cancelled: the alarms someone went out for
    arrival_n: int = 0
    arrival_median_s: float | None = None  # from the alarm to `!framme`
    arrival_p90_s: float | None = None
    assessed_same_night: int = 0  # a protection assessment made within SAME_NIGHT_S of the alarm
    # Of `accepted`, those whose twelve hours are over or that have an assessment: an alarm still within its hours
    # (an open daytime alarm) is not yet one that was not assessed in time.
    assessable: int = 0
    decisions: dict[str, int] = field(default_factory=dict)  # decision → alarms, over every assessment made
    handovers: int = 0  # listed for a district office
    received: int = 0
    received_median_s: float | None = None  # from the office's opening to `!mottaget`
    by_unit: dict[str, int] = field(default_factory=dict)  # unit name → alarms it answered (office or duty unit)
