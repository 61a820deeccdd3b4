"""The phases after acceptance against the store (bot.core.desks.PhaseDesk): each one recorded with its time and
audit entry, and announced to the police room in one line that holds no free text (a time, an estimate, a unit's
name). The assessment's decision is for the social services' own figures and never goes to the police."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from bot.alarm.machine import Alarm
from bot.alarm.rooms import AlarmRoomKeeper
from bot.core.desks import AlarmRecord
from bot.core.effects import Effect, Reply, SendRoom
from bot.core.i18n import t
from bot.store import Store
from bot.store.phases import PhaseRecord
from handlers.phases import PHASE_NAMES
from rosters import Roster
from rosters.wallclock import hhmm, zone_named


class PhaseService:
    def __init__(self, store: Store, roster: Callable[[], Roster], alarms: Callable[[str], Alarm | None],
                 rooms: AlarmRoomKeeper, lang: str) -> None:
        self.store = store
        self.roster = roster
        self.alarms = alarms
        self.rooms = rooms
        self.lang = lang

    def alarm_of_room(self, room_id: str) -> str | None:
        return self.store.alarm_rooms.alarm_of(room_id)

    def relaying(self, alarm_id: str) -> bool:
        state = self.store.alarm_rooms.state(alarm_id)
        return state is not None and not state[0] and state[1]

    def recorded(self, alarm_id: str) -> list[str]:
        return [p.phase for p in self.store.phases.of(alarm_id)]

    def record(self, alarm: AlarmRecord, user: str, phase: str, now: datetime, *, eta_minutes: int | None = None,
               assessment_made: bool | None = None, decision: str | None = None,
               unit: str | None = None) -> list[Effect]:
        record = PhaseRecord(alarm.id, phase, now.timestamp(), user, eta_minutes=eta_minutes,
                             assessment_made=assessment_made, decision=decision, unit=unit)
        self.store.phases.record(record)
        data = {k: v for k, v in (("phase", phase), ("eta_minutes", eta_minutes), ("made", assessment_made),
                                  ("decision", decision), ("unit", unit)) if v is not None}
        self.store.audit.append(user, "phase.recorded", alarm.id, data)
        zone = zone_named(alarm.tz)
        time = hhmm(now, zone)
        # The police learn where the one who took the alarm is, also when a supervisor records it for them.
        doer = user if user in alarm.holders else alarm.accepted_by or user
        name = alarm.name_of(doer, self.roster().people.get(doer))
        line = self._police_line(record, alarm.id, name, time, zone)
        full = self.alarms(alarm.id)
        reply_to = full.police_event or None if full is not None else None
        answer = t("alarm.phase.ok", self.lang, id=alarm.id, phase=t(PHASE_NAMES[phase], self.lang), time=time)
        return [SendRoom(alarm.police_room, line, reply_to=reply_to, alarm=alarm.id), Reply(answer, alarm=alarm.id)]

    def _police_line(self, record: PhaseRecord, alarm_id: str, name: str, time: str, zone: tzinfo) -> str:
        if record.phase == "en_route":
            if record.eta_minutes is None:
                return t("alarm.phase.police.en_route", self.lang, id=alarm_id, name=name, time=time)
            eta = datetime.fromtimestamp(record.at, zone) + timedelta(minutes=record.eta_minutes)
            return t("alarm.phase.police.en_route_eta", self.lang, id=alarm_id, name=name, time=time,
                     minutes=record.eta_minutes, eta=hhmm(eta, zone))
        if record.phase == "arrived":
            return t("alarm.phase.police.arrived", self.lang, id=alarm_id, name=name, time=time)
        if record.phase == "assessment":
            key = "alarm.phase.police.assessed" if record.assessment_made else "alarm.phase.police.not_assessed"
            return t(key, self.lang, id=alarm_id, time=time)
        roster = self.roster()
        unit = roster.units.get(record.unit or "")
        return t("alarm.phase.police.handed_over", self.lang, id=alarm_id, time=time,
                 unit=unit.name if unit else record.unit or "")

    def join(self, alarm: AlarmRecord, user: str, cause: str) -> list[Effect]:
        state = self.store.alarm_rooms.state(alarm.id)
        open_alarm = alarm.status == "accepted"
        if not open_alarm or (state is not None and (not state[0] or not state[1])):
            return [Reply(t("alarm.room.none", self.lang, id=alarm.id), refusal=True)]
        self.rooms.invite(alarm.id, user, cause)
        return [Reply(t("alarm.room.joining", self.lang, id=alarm.id), alarm=alarm.id)]
