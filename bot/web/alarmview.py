"""An alarm's timeline for the browser, from the audit trail and the alarm's state: who was paged when, who read
their page (a read receipt), each SMS sent, each escalation, the acceptance and the end. Never the police's free
text, nor anyone's own words (decline reasons, close notes), nor an SMS's text: those stay end-to-end encrypted in
chat and sealed in the store."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.alarm.machine import Alarm

# Events shown on a timeline; any other alarm.* action (one added later) is shown by its name.
KNOWN = ("raised", "escalated", "exhausted", "accepted", "declined", "delivered", "unreachable", "closed", "cancelled",
         "room_opened", "phase_en_route", "phase_arrived", "phase_assessment", "phase_assessment_not",
         "phase_handed_over", "handover_listed", "handover_reminded", "handover_received", "seen", "sms_sent",
         "handoff_asked", "handed_off", "handoff_declined", "handoff_failed")


@dataclass(frozen=True)
class Moment:
    at: datetime
    event: str  # one of KNOWN, or the audit action as recorded
    who: str  # the person who did it, by name; "" when the bot or the clock did
    paged: tuple[str, ...]  # names paged by this step, if it paged anyone
    detail: str = ""  # a phase's estimate in minutes, or the unit an alarm was handed over to
    why: str = ""  # an SMS's cause: "unreachable" | "unseen" | "fallback"


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
    case_number: str = ""  # the police's händelsenummer: for social services' own records, never the police room
    needed: int = 1
    holders: int = 0


def summary(alarm: Alarm) -> AlarmSummary:
    tz = ZoneInfo(alarm.tz)
    names = ", ".join(alarm.holder_names()) or alarm.accepted_name
    return AlarmSummary(alarm.id, alarm.area_name, alarm.unit_name, alarm.status, alarm.raised_at.astimezone(tz),
                        names, alarm.accepted_at.astimezone(tz) if alarm.accepted_at else None, alarm.escalations,
                        alarm.case_number or "", alarm.needed, len(alarm.holders))


def moments(alarm: Alarm, entries: Sequence[dict[str, Any]], unit_names: Mapping[str, str]) -> list[Moment]:
    """The alarm's history in order; `entries` are its audit entries (bot.store.audit.Audit.about).

    A phase's decision (!skydd) is left out: it is for the figures, not for a page anyone may be looking over.
    """
    tz = ZoneInfo(alarm.tz)
    out: list[Moment] = []
    step = -1
    for entry in entries:
        action = str(entry["action"])
        at = datetime.fromtimestamp(float(entry["at"]), tz)
        actor = str(entry["actor"])
        who = alarm.name_of(actor) if actor.startswith("@") else ""
        if action == "page.seen":  # at the receipt's time, as !status says "sedd 03:12"
            data = json.loads(entry["data"] or "{}")
            seen_at = datetime.fromtimestamp(float(data.get("at", entry["at"])), tz)
            out.append(Moment(seen_at, "seen", who, ()))
            continue
        if action == "sms.sent":  # its text is never shown: only to whom and why
            data = json.loads(entry["data"] or "{}")
            name = alarm.name_of(str(data.get("user", "")))
            out.append(Moment(at, "sms_sent", name, (), why=str(data.get("why", ""))))
            continue
        if action == "alarmroom.opened":
            out.append(Moment(at, "room_opened", "", ()))
            continue
        if action == "phase.recorded":
            out.append(_phase(at, who, json.loads(entry["data"] or "{}"), unit_names))
            continue
        family, _, what = action.partition(".")
        if family == "handover":  # listed for the district office, reminded, received
            unit = str(json.loads(entry["data"] or "{}").get("unit", ""))
            out.append(Moment(at, f"handover_{what}", who, (), unit_names.get(unit, unit)))
            continue
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
        detail = alarm.name_of(str(data["to"])) if event == "handoff_asked" and data.get("to") else ""
        out.append(Moment(at, event, who, paged, detail))
    out.sort(key=lambda m: m.at)  # a receipt's time may come before the entries written just ahead of it
    return out


def _phase(at: datetime, who: str, data: dict[str, Any], unit_names: Mapping[str, str]) -> Moment:
    phase = str(data.get("phase", ""))
    if phase == "assessment" and data.get("made") is False:
        phase = "assessment_not"
    detail = ""
    if isinstance(data.get("eta_minutes"), int):
        detail = f"≈ {data['eta_minutes']} min"
    elif data.get("unit"):
        detail = unit_names.get(str(data["unit"]), str(data["unit"]))
    return Moment(at, f"phase_{phase}", who, (), detail)
