"""What handlers may ask of the runtime, as typed Protocols: handlers never see the App, the store or Matrix.

The runtime (bot/services.py and the services it hands out) provides these; tests may provide their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.effects import Effect
from bot.core.figures import Evaluation, Figures
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


class EvaluationDesk(Protocol):
    """The figures for the evaluation (issue 10, item 4); bot/alarm/evaluation_service.py provides them."""

    def evaluate(self, start: datetime, end: datetime, area: str | None,
                 only: frozenset[str] | None = None) -> tuple[Figures, Evaluation]:
        """Alarms raised in [start, end), of one area (its id) or of all; of those in `only` (alarm ids) if given."""


# --- shift check-ins (bot/readiness/checkins.py provides them) ---------------------------------------------------
@dataclass(frozen=True)
class CheckinState:
    status: str  # "asked" | "answered" | "unanswered" | "skipped"
    asked_at: datetime | None
    answered_at: datetime | None


class CheckinDesk(Protocol):
    def answer(self, user: str, room_id: str, relates_to: str, now: datetime) -> list[Effect]: ...
    def state(self, unit: str, role: str, user: str, at: datetime) -> CheckinState | None: ...


class NoCheckins:
    """For a runtime without check-ins: nothing is ever asked, so nothing is answered."""

    def answer(self, user: str, room_id: str, relates_to: str, now: datetime) -> list[Effect]:
        return []

    def state(self, unit: str, role: str, user: str, at: datetime) -> CheckinState | None:
        return None


# --- the handover to the district offices (bot/handover/service.py) ------------------------------------------------
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
