"""Shift check-ins: at a configured shift start the person coming on call is asked to answer ✅; no answer in time,
and the unit's supervisors are told — before an alarm can meet an absent responder.

The store is the timer (bot/store/checkins.py): each configured shift start is planned as a row well ahead, asked
when it is due, and reported when its answer is late. Whatever wakes the sweep, it reads what is due from the store,
so a restart between the question and its deadline changes nothing, and nothing is asked or reported twice.
The person is read from the roster (with overrides) when the question is put, so a `!byt` made after planning counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.alarm.texts import reason_text
from bot.channels.channel import DeliveryListener
from bot.channels.outbox import OTHER, Origin, Outbox
from bot.config import CheckinConfig
from bot.core.desks import CheckinState
from bot.core.effects import Effect, SendUser
from bot.core.i18n import role_label, t
from bot.matrix.content import content_for
from bot.names import Names
from bot.store import NewMessage, OutboxRow, Store
from bot.store.checkins import ANSWERED, ASKED, PLANNED, UNANSWERED, CheckinRow
from rosters import Roster
from rosters.wallclock import hhmm

log = logging.getLogger(__name__)

PLAN_AHEAD_S = 36 * 3600.0  # rows exist well before their shift, so a bot down over a shift start still asks
PLAN_EVERY_S = 900.0
QUESTION_DELIVERY_S = 900.0
PURPOSE = "checkin:"


@dataclass(frozen=True)
class CheckinSettings:
    lang: str
    bot_user: str
    extra_supervisors: tuple[str, ...] = ()


class CheckinService:
    def __init__(self, store: Store, roster: Callable[[], Roster], configs: Sequence[CheckinConfig],
                 settings: CheckinSettings, outbox: Outbox, clock: Callable[[], float],
                 names: Names | None = None) -> None:
        self.store = store
        self.roster = roster
        self.names = names or Names(roster)
        self.configs = {c.unit: c for c in configs}
        self.settings = settings
        self.outbox = outbox
        self.clock = clock
        self._planned_at: float | None = None

    # --- planning and what is due (from the sweep) ------------------------------------------------------------------
    def plan(self, now: float) -> None:
        """Plan the configured shift starts of the next day and a half (every quarter of an hour, and at start)."""
        if not self.configs or (self._planned_at is not None and now - self._planned_at < PLAN_EVERY_S):
            return
        self._planned_at = now
        roster = self.roster()
        overrides = self.store.overrides.active()
        start, end = datetime.fromtimestamp(now, UTC), datetime.fromtimestamp(now + PLAN_AHEAD_S, UTC)
        with self.store.transaction():
            for unit, config in self.configs.items():
                if unit not in roster.units:
                    continue  # preflight names it; a roster reload may drop a unit
                tz = roster.units[unit].tz
                for shift in roster.shifts(unit, start, end, overrides):
                    begins = shift.start.timestamp()
                    if begins < now or shift.role not in config.roles:
                        continue
                    if config.starts and hhmm(shift.start, tz) not in config.starts:
                        continue
                    self.store.checkins.plan(f"{unit}:{shift.role}:{int(begins)}", unit, shift.role, begins,
                                             shift.end.timestamp())

    def next_at(self) -> float | None:
        return self.store.checkins.next_at() if self.configs else None

    def due(self, now: float) -> bool:
        found = self.next_at()
        return found is not None and found <= now

    def sweep(self, now: float) -> None:
        """Ask what is due to be asked, report what is due to be reported (inside the sweep's transaction)."""
        for row in self.store.checkins.due(now):
            if row.status == PLANNED:
                self._ask(row, now)
            elif row.status == ASKED:
                self._report(row, now)

    def _ask(self, row: CheckinRow, now: float) -> None:
        roster = self.roster()
        config = self.configs.get(row.unit)
        if config is None or row.unit not in roster.units or row.shift_end <= now:
            self.store.checkins.skipped(row.id)
            return
        start = datetime.fromtimestamp(row.shift_start, UTC)
        holders = [s for s in roster.shifts(row.unit, start, start + timedelta(seconds=1),
                                            self.store.overrides.active()) if s.role == row.role]
        if not holders:
            self.store.checkins.skipped(row.id)  # a gap: `roster check` and `!jour` say so already
            return
        user = holders[0].user
        within = config.answer_within_min * 60.0
        answer_by = max(row.shift_start, now) + within
        self.store.checkins.asked(row.id, user, now, answer_by, holders[0].end.timestamp())
        row = self.store.checkins.get(row.id) or row
        lang = self.settings.lang
        text = t("roster.checkin.ask", lang, **self._shift_words(row))
        # Asked so that it rings: an unanswered question is what tells the supervisors someone is missing.
        self.store.outbox.add(NewMessage("user", user, content_for(text, mentions=(self.names.mention(user),)),
                                         f"{PURPOSE}{row.id}", OTHER, now + QUESTION_DELIVERY_S),
                              f"checkin:{row.id}:ask", 0)
        self.store.audit.append(self.settings.bot_user, "checkin.asked", row.id,
                                {"user": user, "unit": row.unit, "role": row.role, "answer_by": answer_by})
        log.info("check-in %s asked of %s", row.id, user)

    def _report(self, row: CheckinRow, now: float) -> None:
        user = row.user_id or ""
        self.store.checkins.reported(row.id, now)
        words = self._shift_words(row)
        text = t("roster.checkin.late", self.settings.lang, name=self._name(user),
                 asked=self._time(row.asked_at or row.shift_start, row.unit), **words)
        told = self._supervisors(row.unit, user)
        self.outbox.queue([SendUser(s, text, mentions=(self.names.mention(s),)) for s in told],
                          Origin(f"checkin:{row.id}:late"))
        self.store.audit.append(self.settings.bot_user, "checkin.unanswered", row.id,
                                {"user": user, "told": told})
        log.warning("check-in %s not answered by %s; %d supervisor(s) told", row.id, user, len(told))

    # --- answers (from the passive handlers, inside the inbox's transaction) ----------------------------------------
    def answer(self, user: str, room_id: str, relates_to: str, now: datetime) -> list[Effect]:
        """A ✅ on the question or a reply to it; or, in the person's own direct room, an answer to their open one."""
        row = self.store.checkins.by_event(relates_to) if relates_to else None
        if row is None and self.store.direct_rooms.get(user) == room_id:
            row = self.store.checkins.waiting_for(user, now.timestamp())
            if row is not None and relates_to and self.store.alarms.alarm_of_page(relates_to):
                row = None  # a ✅ on a page accepts the alarm (handlers/alarm.py); it says nothing about a shift
        if row is None or row.user_id != user or row.status not in (ASKED, UNANSWERED):
            return []
        at = now.timestamp()
        self.store.checkins.answered(row.id, at)
        self.store.audit.append(user, "checkin.answered", row.id, {"late": row.status == UNANSWERED})
        lang = self.settings.lang
        time = self._time(at, row.unit)
        out: list[Effect] = [SendUser(user, t("roster.checkin.thanks", lang, time=time))]
        if row.status == UNANSWERED:
            text = t("roster.checkin.late_answered", lang, name=self._name(user), time=time, **self._shift_words(row))
            out += [SendUser(s, text) for s in self._supervisors(row.unit, user)]
        return out

    def state(self, unit: str, role: str, user: str, at: datetime) -> CheckinState | None:
        row = self.store.checkins.covering(unit, role, at.timestamp())
        if row is None or row.user_id != user:
            return None
        return CheckinState(row.status, _at(row.asked_at), _at(row.answered_at))

    # --- deliveries (the outbox's listener, beside the alarm service) ------------------------------------------------
    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]:
        if row.purpose.startswith(PURPOSE):
            self.store.checkins.delivered(row.purpose[len(PURPOSE):], event_id)
        return []

    def failing(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        return []  # still tried: the answer deadline tells the supervisors if it never arrives

    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        """A question the homeserver refused for good (no verified device, unknown user): the supervisors are told
        now, not at the answer deadline, and why (inside the outbox's transaction)."""
        if not row.purpose.startswith(PURPOSE):
            return []
        checkin = self.store.checkins.get(row.purpose[len(PURPOSE):])
        if checkin is None or checkin.status != ASKED:
            return []
        user = checkin.user_id or ""
        self.store.checkins.reported(checkin.id, at)
        text = t("roster.checkin.undelivered", self.settings.lang, name=self._name(user),
                 reason=reason_text(reason, self.settings.lang), **self._shift_words(checkin))
        told = self._supervisors(checkin.unit, user)
        self.store.audit.append(self.settings.bot_user, "checkin.undelivered", checkin.id,
                                {"user": user, "reason": reason, "told": told})
        log.warning("check-in %s could not reach %s (%s); %d supervisor(s) told", checkin.id, user, reason, len(told))
        return [SendUser(s, text, mentions=(self.names.mention(s),)) for s in told]

    # --- words ---------------------------------------------------------------------------------------------------
    def _shift_words(self, row: CheckinRow) -> dict[str, str]:
        roster = self.roster()
        unit = roster.units.get(row.unit)
        return {"start": self._time(row.shift_start, row.unit), "end": self._time(row.shift_end, row.unit),
                "unit": unit.name if unit else row.unit, "role": role_label(row.role, self.settings.lang).lower()}

    def _time(self, ts: float, unit: str) -> str:
        roster = self.roster()
        tz = roster.units[unit].tz if unit in roster.units else roster.default_zone
        return hhmm(datetime.fromtimestamp(ts, UTC), tz)

    def _name(self, user: str) -> str:
        return self.names.name(user)

    def _supervisors(self, unit: str, user: str) -> list[str]:
        roster = self.roster()
        found = roster.supervisors(unit) if unit in roster.units else set()
        return sorted((found | set(self.settings.extra_supervisors)) - {user})


def _at(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class DeliveryListeners:
    """The outbox tells each of these of every delivery and failure, in order (the alarm service, the check-ins, the
    SMS channel: it reads what the alarm service made of a page that failed)."""

    def __init__(self, *listeners: DeliveryListener) -> None:
        self.listeners = listeners

    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]:
        return [e for listener in self.listeners for e in listener.delivered(row, event_id, at)]

    def failing(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        return [e for listener in self.listeners for e in listener.failing(row, reason, at)]

    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        return [e for listener in self.listeners for e in listener.undeliverable(row, reason, at)]


__all__ = ["ANSWERED", "CheckinService", "CheckinSettings", "DeliveryListeners"]
