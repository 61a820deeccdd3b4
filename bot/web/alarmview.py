"""An alarm's timeline for the browser, from the audit trail and the alarm's state: who was paged when, each
escalation, the acceptance and the end. Never the police's free text, nor anyone's own words (decline reasons,
close notes): those stay end-to-end encrypted in chat and sealed in the store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.alarm.machine import Alarm

# Audit actions shown on a timeline; any other alarm.* action (a phase added later) is shown by its name.
KNOWN = ("raised", "escalated", "exhausted", "accepted", "declined", "delivered", "unreachable", "closed", "cancelled")


@dataclass(frozen=True)
class Moment:
    at: datetime
    event: str  # one of KNOWN, or the audit action as recorded
    who: str  # the person who did it, by name; "" when the bot or the clock did
    paged: tuple[str, ...]  # names paged by this step, if it paged anyone


@dataclass(frozen=True)
class AlarmSummary:
    id: str
    area: str
    unit: str
    status: str
    raised_at: datetime
    accepted_name: str | None
    accepted_at: datetime | None
    escalations: int


def summary(alarm: Alarm) -> AlarmSummary:
    tz = ZoneInfo(alarm.tz)
    return AlarmSummary(alarm.id, alarm.area_name, alarm.unit_name, alarm.status, alarm.raised_at.astimezone(tz),
                        alarm.accepted_name,
                        alarm.accepted_at.astimezone(tz) if alarm.accepted_at else None, alarm.escalations)


def moments(alarm: Alarm, entries: Sequence[dict[str, Any]]) -> list[Moment]:
    """The alarm's history in order; `entries` are its audit entries (bot.store.audit.Audit.about)."""
    tz = ZoneInfo(alarm.tz)
    out: list[Moment] = []
    step = -1
    for entry in entries:
        action = str(entry["action"])
        if not action.startswith("alarm."):
            continue
        event = action.removeprefix("alarm.")
        data = json.loads(entry["data"] or "{}")
        paged: tuple[str, ...] = ()
        new_step = data.get("step", step)
        if isinstance(new_step, int) and new_step > step:
            paged = tuple(p.name for i in range(step + 1, new_step + 1) for p in alarm.chain.steps[i].people
                          if p.user in alarm.paged)
            step = new_step
        actor = str(entry["actor"])
        who = alarm.name_of(actor) if actor.startswith("@") else ""
        out.append(Moment(datetime.fromtimestamp(float(entry["at"]), tz), event, who, paged))
    return out
