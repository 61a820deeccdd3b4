"""What handlers may ask of the runtime, as typed Protocols: handlers never see the App, the store or Matrix.

The runtime (bot/services.py) provides these; tests may provide their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from handlers.checkin import CheckinDesk
from handlers.effects import Effect
from handlers.handover_desk import HandoverDesk
from rosters import Area, Override, Roster


class AlarmRecord(Protocol):
    """An alarm as handlers read it (bot.alarm.machine.Alarm satisfies this)."""

    @property
    def id(self) -> str: ...
    @property
    def number(self) -> int: ...
    @property
    def area_name(self) -> str: ...
    @property
    def unit_name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def police_room(self) -> str: ...
    @property
    def raised_by(self) -> str: ...
    @property
    def raised_at(self) -> datetime: ...
    @property
    def tz(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def paged(self) -> tuple[str, ...]: ...
    @property
    def declined(self) -> frozenset[str]: ...
    @property
    def accepted_by(self) -> str | None: ...
    @property
    def accepted_name(self) -> str | None: ...
    @property
    def accepted_at(self) -> datetime | None: ...
    @property
    def closed_name(self) -> str | None: ...
    @property
    def closed_by(self) -> str | None: ...
    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...
    @property
    def awaiting(self) -> bool: ...
    @property
    def pending(self) -> tuple[str, ...]: ...
    def name_of(self, user: str, default: str | None = None) -> str: ...


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


class AlarmDesk(Protocol):
    def get(self, alarm_id: str) -> AlarmRecord | None: ...
    def paged_by(self, event_id: str) -> AlarmRecord | None:
        """The alarm whose page is the event `event_id`, if it is one."""
    def raised_by_event(self, event_id: str) -> AlarmRecord | None:
        """The alarm the message `event_id` raised, if it raised one."""
    def unfinished(self) -> Sequence[AlarmRecord]: ...
    def seen(self, alarm_id: str) -> Mapping[str, datetime]:
        """Who read their page of `alarm_id`, and when."""
    def raised_since(self, user: str, since: datetime) -> int: ...
    def figures(self, start: datetime, end: datetime) -> Figures: ...
    def raise_alarm(self, area: Area, details: str, police_room: str, police_event: str, raised_by: str,
                    now: datetime) -> list[Effect]: ...
    def accept(self, alarm_id: str, user: str, now: datetime, is_supervisor: bool) -> list[Effect]: ...
    def decline(self, alarm_id: str, user: str, reason: str, now: datetime) -> list[Effect]: ...
    def close(self, alarm_id: str, user: str, note: str, now: datetime, is_supervisor: bool) -> list[Effect]: ...
    def cancel(self, alarm_id: str, user: str, reason: str, now: datetime, allowed: bool) -> list[Effect]: ...


class OverrideBook(Protocol):
    def add(self, override: Override, by: str, now: datetime) -> Override: ...
    def remove(self, override_id: str, by: str, now: datetime) -> bool: ...
    def active(self) -> list[Override]: ...
    def current(self, now: datetime) -> list[Override]: ...


# --- issue 10: the alarm room and the phases after acceptance (handlers/phases.py) -----------------------------
class PhaseDesk(Protocol):
    def alarm_of_room(self, room_id: str) -> str | None:
        """The alarm whose alarm room `room_id` is, if it is one."""
    def relaying(self, alarm_id: str) -> bool:
        """The alarm has no room (it could not be made): officer and acceptor write through the bot instead."""
    def recorded(self, alarm_id: str) -> list[str]:
        """The phases recorded for the alarm, in phase order."""
    def record(self, alarm: AlarmRecord, user: str, phase: str, now: datetime, *, eta_minutes: int | None = None,
               assessment_made: bool | None = None, decision: str | None = None,
               unit: str | None = None) -> list[Effect]:
        """Store the phase with its audit entry; the police room's line and the answer to `user`."""
    def join(self, alarm: AlarmRecord, user: str, cause: str) -> list[Effect]:
        """Invite `user` (a supervisor) into the alarm's room."""


class WebLogin(Protocol):
    """One-time links to the browser view (bot/web/)."""

    @property
    def link_minutes(self) -> int: ...
    def issue(self, user: str, now: datetime) -> str:
        """A new single-use login link for `user`."""
    def is_direct_room(self, room_id: str, user: str) -> bool: ...


class TrustDesk(Protocol):
    """Pinned identities (bot/trust/identities.py): whose changed, and a supervisor's confirmation."""

    def changed_identities(self) -> list[str]:
        """Everyone whose cross-signing identity changed and waits for a supervisor's confirmation."""
    def confirm_identity(self, user: str, by: str) -> bool:
        """`by` vouches for `user`'s new identity (audited); False if it had not changed."""


class Services(Protocol):
    @property
    def roster(self) -> Roster: ...
    @property
    def alarms(self) -> AlarmDesk: ...
    @property
    def overrides(self) -> OverrideBook: ...
    @property
    def phases(self) -> PhaseDesk: ...
    @property
    def handovers(self) -> HandoverDesk: ...
    @property
    def evaluation(self) -> EvaluationDesk: ...
    @property
    def checkins(self) -> CheckinDesk: ...
    @property
    def web(self) -> WebLogin | None:
        """None when the browser view is off."""
    @property
    def trust(self) -> TrustDesk: ...
    def name_of(self, user_id: str, room_id: str | None = None) -> str:
        """What people call `user_id` (the rosters' name, else their display name in `room_id`), never the id."""


# --- the phases after acceptance, as handlers, the store and the figures name them --------------------------------
PHASES = ("en_route", "arrived", "assessment", "handed_over")  # in the order they happen
# The protection assessment's outcome for the child: stays home with a safety plan / with a relative / emergency
# placement / other. A fixed list, so the figures for the evaluation can count them and no free text slips in.
DECISIONS = ("safety_plan", "relative", "emergency_placement", "other")


# --- the figures for the evaluation (`!statistik`, issue 10 item 4) ---------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """What happened after acceptance, over the alarms raised in a period. Times in seconds; None without data."""

    accepted: int = 0  # accepted and not cancelled: the alarms someone went out for
    arrival_n: int = 0
    arrival_median_s: float | None = None  # from the alarm to `!framme`
    arrival_p90_s: float | None = None
    assessed_same_night: int = 0  # a protection assessment made within SAME_NIGHT_S of the alarm
    decisions: dict[str, int] = field(default_factory=dict)  # decision → alarms, over every assessment made
    handovers: int = 0  # listed for a district office
    received: int = 0
    received_median_s: float | None = None  # from the office's opening to `!mottaget`
    by_unit: dict[str, int] = field(default_factory=dict)  # unit name → alarms it answered (office or duty unit)


class EvaluationDesk(Protocol):
    """The figures for the evaluation (issue 10, item 4); bot/alarm/evaluation_service.py provides them."""

    def evaluate(self, start: datetime, end: datetime, area: str | None) -> tuple[Figures, Evaluation]:
        """Alarms raised in [start, end), of one area (its id) or of all."""
