"""What the handover handlers may ask of the runtime (bot/handover/service.py provides it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from handlers.effects import Effect


@dataclass(frozen=True)
class OpenHandover:
    """An alarm listed for a district office, as `!status` and `!mottaget` read it."""

    alarm_id: str
    area_name: str
    unit: str
    unit_name: str
    posted_at: datetime  # in the unit's zone
    received_by: str | None = None
    received_name: str | None = None
    received_at: datetime | None = None


class HandoverDesk(Protocol):
    def handover(self, alarm_id: str) -> OpenHandover | None: ...
    def waiting(self) -> list[OpenHandover]:
        """Listed and not yet received, oldest first."""
    def may_receive(self, unit: str, user: str) -> bool:
        """Whether `user` belongs to `unit` (a member or one of its supervisors) or supervises over all units."""
    def receive(self, alarm_id: str, user: str, now: datetime) -> list[Effect]: ...
