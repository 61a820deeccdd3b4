"""The answer the roster engine gives: who is paged, step by step, for an area at an instant.

These types are the contract between the roster engine and the alarm lifecycle; keep them stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class OnCall:
    """One person in one step of the chain."""

    role: str  # "primary" | "secondary" | "supervisor" | "unit"
    user: str  # Matrix user id, e.g. "@anna.a:localhost"
    name: str  # display name, e.g. "Anna A"


@dataclass(frozen=True)
class ChainStep:
    """One escalation step: everyone in `people` is paged together, then we wait `wait_s` seconds."""

    role: str
    wait_s: int
    people: tuple[OnCall, ...]  # empty: a gap in the roster for this step; the alarm skips it at once


@dataclass(frozen=True)
class Chain:
    """Escalation chain for `area` at instant `at` (timezone-aware), answered by unit `unit`."""

    area: str  # area id
    area_name: str  # display name, e.g. "Skärholmen"
    at: datetime
    unit: str  # unit id
    unit_name: str
    unit_phone: str
    steps: tuple[ChainStep, ...] = field(default_factory=tuple)

    @property
    def has_primary(self) -> bool:
        return any(step.role == "primary" and step.people for step in self.steps)

    @property
    def first_role(self) -> str | None:
        """The role of the first step that pages someone: where an alarm goes when the primary is missing."""
        return next((step.role for step in self.steps if step.people), None)

    def everyone(self) -> list[OnCall]:
        """Every person in the chain once, in escalation order."""
        seen: set[str] = set()
        out: list[OnCall] = []
        for step in self.steps:
            for person in step.people:
                if person.user not in seen:
                    seen.add(person.user)
                    out.append(person)
        return out
