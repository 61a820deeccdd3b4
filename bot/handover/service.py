"""The handover to the district office, against the store.

An alarm in an area with a district office that was accepted while that office was closed (or was handled by the
duty unit) belongs to the office from its next opening on. At that opening the bot lists each such alarm in the
office's room — times, phases, the acceptor, never the police's free text — and asks someone there for `!mottaget`.
Unreceived after `remind_after_s` the office's supervisors are reminded, after `duty_after_s` more the supervisors
of the unit that handled it.

The store is the timer (as for escalations, bot/timers.py): each office's next opening is a row, each reminder a
column; the App's sweep asks `fire(now)` for whatever is due, so one missed while the bot was down fires once at the
next start, and a restart loses nothing. Everything here runs inside the caller's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.alarm.machine import Alarm
from bot.channels.outbox import Origin, Outbox
from bot.core.desks import OpenHandover
from bot.core.effects import Effect, Mention, Reply, SendRoom, SendUser
from bot.core.i18n import listing, moment, t
from bot.core.phases import DECISIONS
from bot.names import Names
from bot.store import Store
from bot.store.handovers import HandoverRow, Opening
from bot.store.phases import PhaseRecord
from rosters import Roster, Unit
from rosters.openings import is_open, next_opening
from rosters.phones import spoken_phone
from rosters.wallclock import hhmm, zone_named

log = logging.getLogger(__name__)

DAY = 86400.0
# How long before its acceptance an alarm may have been raised and still be looked at: far beyond any escalation.
_RAISED_BEFORE_S = 7 * DAY


@dataclass(frozen=True)
class HandoverSettings:
    lang: str
    unit_rooms: Mapping[str, str] = field(default_factory=dict)  # unit id → its room
    remind_after_s: int = 7200  # after the listing: the office's supervisors
    duty_after_s: int = 7200  # after that: the supervisors of the unit that handled the alarm
    extra_supervisors: tuple[str, ...] = ()  # configured beside the rosters' supervisors: may receive for any unit


def day_and_time(at: datetime, zone: str, lang: str) -> str:
    """"17/6 22:05": when an alarm of last night was raised, as the office reads it in the morning."""
    return moment(at.astimezone(zone_named(zone)), lang, weekday=False)


def phase_text(phases: Sequence[PhaseRecord], zone: str, lang: str, unit_names: Mapping[str, str] | None = None) -> str:
    """The phases in the order they happened, each with its local time; nothing typed freely (the receiving unit is a
    unit id, shown by its name)."""
    tz = zone_named(zone)
    parts: list[str] = []
    for p in sorted(phases, key=lambda p: p.at):
        time = hhmm(datetime.fromtimestamp(p.at, UTC), tz)
        if p.phase == "en_route":
            parts.append(t("handover.phase.en_route_eta", lang, time=time, minutes=p.eta_minutes)
                         if p.eta_minutes else t("handover.phase.en_route", lang, time=time))
        elif p.phase == "arrived":
            parts.append(t("handover.phase.arrived", lang, time=time))
        elif p.phase == "assessment" and p.assessment_made:
            parts.append(t("handover.phase.assessed_decision", lang, time=time,
                           decision=t(f"handover.decision.{p.decision}", lang)) if p.decision in DECISIONS
                         else t("handover.phase.assessed", lang, time=time))
        elif p.phase == "assessment":
            parts.append(t("handover.phase.not_assessed", lang, time=time))
        elif p.phase == "handed_over":
            unit = (unit_names or {}).get(p.unit or "", p.unit or "—")
            parts.append(t("handover.phase.handed_over", lang, time=time, unit=unit))
    return listing(parts, lang) if parts else t("handover.phase.none", lang)


def with_case_number(text: str, alarm: Alarm, lang: str) -> str:
    """A listing with the police's case number after its first line, for the office to match the police's records."""
    if not alarm.case_number:
        return text
    head, _, rest = text.partition("\n")
    return "\n".join([head, t("alarm.fact.case_number", lang, case=alarm.case_number), *([rest] if rest else [])])


class HandoverService:
    def __init__(self, store: Store, roster: Callable[[], Roster], settings: HandoverSettings,
                 phases: Callable[[str], Sequence[PhaseRecord]], names: Names | None = None) -> None:
        self.store = store
        self.roster = roster
        self.names = names or Names(roster)
        self.settings = settings
        self.phases = phases
        self.lang = settings.lang

    # --- the timer ------------------------------------------------------------------------------------------------
    def offices(self) -> list[Unit]:
        """District offices that have a room to list their handovers in."""
        roster = self.roster()
        ids = {a.office_unit for a in roster.areas.values() if a.office_unit}
        return [u for uid, u in roster.units.items()
                if uid in ids and u.office_hours is not None and self.settings.unit_rooms.get(uid)]

    def prepare(self, now: float) -> None:
        """Give every district office with a room its next opening, counting alarms accepted from `now` on; one that
        already has a row keeps it, so an opening missed while the bot was down still fires."""
        roster = self.roster()
        for uid in sorted({a.office_unit for a in roster.areas.values() if a.office_unit}):
            if uid in roster.units and not self.settings.unit_rooms.get(uid):
                log.warning("district office %s has no room in the configuration ([units.%s] room): alarms handled"
                            " while it is closed are not handed over", uid, uid)
        with self.store.transaction():
            for unit in self.offices():
                if self.store.handovers.opening(unit.id) is None:
                    opens = next_opening(unit, now)
                    if opens is not None:
                        self.store.handovers.set_opening(Opening(unit.id, opens, now))

    def next_at(self) -> float | None:
        return self.store.handovers.next_at()

    def is_due(self, now: float) -> bool:
        due = self.next_at()
        return due is not None and due <= now

    def hand_over(self, now: float, outbox: Outbox) -> None:
        """List and remind whatever is due, and queue the messages, in one transaction of its own: a failure here
        is logged and tried again at the next sweep, and never holds back an escalation."""
        try:
            with self.store.transaction():
                for cause, effects in self.fire(now):
                    outbox.queue(effects, Origin(cause))
        except Exception:
            log.exception("handover: listing or reminding failed; trying again at the next sweep")

    def fire(self, now: float) -> list[tuple[str, list[Effect]]]:
        """Every listing and reminder due at `now`, as (cause, messages): the cause names what was due, so the
        messages of one listing get the same transaction ids if a crash makes the bot do it again."""
        out: list[tuple[str, list[Effect]]] = []
        for opening in self.store.handovers.openings_due(now):
            out.append((f"handover:{opening.unit}:{opening.at!r}", self._list(opening, now)))
        for row in self.store.handovers.reminders_due(now):
            out.append((f"handover-reminder:{row.alarm_id}:{row.reminders}", self._remind(row, now)))
        return out

    def _list(self, opening: Opening, now: float) -> list[Effect]:
        roster = self.roster()
        unit = roster.units.get(opening.unit)
        room = self.settings.unit_rooms.get(opening.unit)
        if unit is None or not room or unit.office_hours is None:
            self.store.handovers.drop_opening(opening.unit)  # no longer an office with a room: nothing to list
            return []
        effects: list[Effect] = []
        for alarm in self._to_hand_over(unit, opening, roster):
            self.store.handovers.add(HandoverRow(alarm.id, unit.id, alarm.area, opening.at, now,
                                                 now + self.settings.remind_after_s, 0))
            self._audit("timer", "listed", alarm.id, {"unit": unit.id})
            log.info("alarm %s handed over to %s", alarm.id, unit.id)
            effects.append(SendRoom(room, self.listing(alarm, unit), mentions=self._who_to_ask(unit, alarm.area, now)))
        following = next_opening(unit, max(opening.at, now))
        if following is None:
            log.warning("district office %s has no opening in the next two months: handovers stop", unit.id)
            self.store.handovers.drop_opening(unit.id)
        else:
            self.store.handovers.set_opening(Opening(unit.id, following, opening.at))
        return effects

    def _to_hand_over(self, unit: Unit, opening: Opening, roster: Roster) -> list[Alarm]:
        """Alarms of the office's areas accepted in [since, opening) while it was closed, or taken by another unit,
        not cancelled and not listed before; and those nobody took (the chain ran out and the supervisors were told
        to phone), raised in that time: a child nobody went out to is the one the office must not miss."""
        areas = {a.id for a in roster.areas.values() if a.office_unit == unit.id}
        rows = self.store.alarms.states_raised_between(opening.since - _RAISED_BEFORE_S, opening.at)
        found: list[Alarm] = []
        for state in rows:
            alarm = Alarm.from_dict(state)
            if alarm.area not in areas or alarm.status == "cancelled":
                continue
            if alarm.accepted_at is None:
                if alarm.status != "exhausted":
                    continue  # still being paged: listed once someone takes it or the chain runs out
                handled = alarm.raised_at.timestamp()
            else:
                handled = alarm.accepted_at.timestamp()
            if not opening.since <= handled < opening.at:
                continue
            if alarm.unit == unit.id and is_open(unit, handled):
                continue  # the office took it (or was paged for it) itself, in its own hours
            found.append(alarm)
        known = self.store.handovers.for_alarms([a.id for a in found])
        return [a for a in found if a.id not in known]

    def _who_to_ask(self, unit: Unit, area: str, now: float) -> tuple[Mention, ...]:
        """The office's primary on call now, so one phone rings; nobody if the office is not the one answering (the
        listing is then a quiet notice in the room, read when someone opens it)."""
        chain = self.roster().who(area, datetime.fromtimestamp(now, UTC), self.store.overrides.active())
        if chain.unit != unit.id or not chain.steps:
            return ()
        return tuple(Mention(p.user, p.name) for p in chain.steps[0].people)

    def listing(self, alarm: Alarm, unit: Unit) -> str:
        zone = unit.tz.key
        tz = zone_named(zone)
        state = (t("handover.state.closed", self.lang, time=hhmm(alarm.closed_at, tz)) if alarm.closed_at
                 else t("handover.state.open", self.lang))
        if alarm.accepted_at is None:
            return with_case_number(t("handover.listing_untaken", self.lang, id=alarm.id, area=alarm.area_name,
                                      raised=day_and_time(alarm.raised_at, zone, self.lang), unit=alarm.unit_name,
                                      fallback=hhmm(alarm.fallback_at or alarm.raised_at, tz)), alarm, self.lang)
        accepted = alarm.accepted_at
        text = t("handover.listing", self.lang, id=alarm.id, area=alarm.area_name,
                 raised=day_and_time(alarm.raised_at, zone, self.lang), accepted=hhmm(accepted, tz),
                 name=listing(alarm.holder_names(), self.lang) or alarm.accepted_name or "—", unit=alarm.unit_name,
                 phases=phase_text(self.phases(alarm.id), zone, self.lang,
                                   {u.id: u.name for u in self.roster().units.values()}), state=state)
        return with_case_number(text, alarm, self.lang)

    def _remind(self, row: HandoverRow, now: float) -> list[Effect]:
        roster = self.roster()
        alarm = self._alarm(row.alarm_id)
        office = roster.units.get(row.unit)
        area_name = alarm.area_name if alarm else row.area
        listed = hhmm(datetime.fromtimestamp(row.posted_at, UTC), office.tz if office else zone_named("UTC"))
        office_name = office.name if office else row.unit
        if row.reminders == 0:
            to = sorted(roster.supervisors(row.unit)) if office else []
            text = t("handover.remind_unit", self.lang, id=row.alarm_id, area=area_name, time=listed,
                     unit=office_name)
            self.store.handovers.reminded(row.alarm_id, 1, now + self.settings.duty_after_s)
        else:
            duty = self._duty_unit(alarm, row, roster)
            to = sorted(roster.supervisors(duty)) if duty in roster.units else []
            text = t("handover.remind_duty", self.lang, id=row.alarm_id, area=area_name, time=listed,
                     unit=office_name, phone=spoken_phone(office.phone) if office else "—")
            self.store.handovers.reminded(row.alarm_id, row.reminders + 1, None)
        self._audit("timer", "reminded", row.alarm_id, {"step": row.reminders + 1, "to": to})
        # The supervisors must act now (someone must receive the alarm): it rings.
        return [SendUser(user, text, mentions=(self.names.mention(user),)) for user in to]

    @staticmethod
    def _duty_unit(alarm: Alarm | None, row: HandoverRow, roster: Roster) -> str:
        """The unit that handled the alarm: its own unit, or the area's round-the-clock unit if that was the office."""
        if alarm is not None and alarm.unit != row.unit:
            return alarm.unit
        area = roster.areas.get(row.area)
        return area.other_unit if area else ""

    def _audit(self, actor: str, what: str, alarm_id: str, data: dict[str, object]) -> None:
        self.store.audit.append(actor, f"handover.{what}", alarm_id, data)

    def _alarm(self, alarm_id: str) -> Alarm | None:
        state = self.store.alarms.state(alarm_id)
        return None if state is None else Alarm.from_dict(state)

    # --- what handlers ask (bot.core.desks.HandoverDesk) ---------------------------------------------------
    def handover(self, alarm_id: str) -> OpenHandover | None:
        row = self.store.handovers.get(alarm_id)
        return None if row is None else self._open(row)

    def waiting(self) -> list[OpenHandover]:
        return [self._open(row) for row in self.store.handovers.waiting()]

    def may_receive(self, unit: str, user: str) -> bool:
        roster = self.roster()
        if user in self.settings.extra_supervisors:
            return True
        if unit not in roster.units:
            return False
        return user in roster.members(unit) or user in roster.supervisors(unit)

    def receive(self, alarm_id: str, user: str, now: datetime) -> list[Effect]:
        row = self.store.handovers.get(alarm_id)
        if row is None:
            return [Reply(t("handover.unknown", self.lang, id=alarm_id), refusal=True)]
        if not self.store.handovers.receive(alarm_id, user, now.timestamp()):
            return [Reply(self._already(row), refusal=True)]
        self._audit(user, "received", alarm_id, {"unit": row.unit})
        roster = self.roster()
        office = roster.units.get(row.unit)
        zone = office.tz if office else zone_named("UTC")
        name = roster.people.get(user, user)
        effects: list[Effect] = [Reply(t("handover.received", self.lang, id=alarm_id, name=name,
                                         time=hhmm(now, zone)))]
        told: list[str] = []
        if row.reminders >= 1 and office is not None:
            told += sorted(roster.supervisors(row.unit))
        if row.reminders >= 2:
            duty = self._duty_unit(self._alarm(alarm_id), row, roster)
            told += sorted(roster.supervisors(duty)) if duty in roster.units else []
        notice = t("handover.received_notice", self.lang, id=alarm_id, name=name,
                   unit=office.name if office else row.unit, time=hhmm(now, zone))
        effects += [SendUser(u, notice) for u in dict.fromkeys(told) if u != user]
        return effects

    def _already(self, row: HandoverRow) -> str:
        opened = self._open(row)
        return t("handover.already", self.lang, id=row.alarm_id, name=opened.received_name or "—",
                 time=hhmm(opened.received_at, opened.received_at.tzinfo or UTC) if opened.received_at else "—")

    def _open(self, row: HandoverRow) -> OpenHandover:
        roster = self.roster()
        office = roster.units.get(row.unit)
        area = roster.areas.get(row.area)
        tz = office.tz if office else zone_named("UTC")

        def when(ts: float | None) -> datetime | None:
            return None if ts is None else datetime.fromtimestamp(ts, tz)

        received_name = roster.people.get(row.received_by, row.received_by) if row.received_by else None
        return OpenHandover(row.alarm_id, area.name if area else row.area, row.unit,
                            office.name if office else row.unit, datetime.fromtimestamp(row.posted_at, tz),
                            row.received_by, received_name, when(row.received_at))
