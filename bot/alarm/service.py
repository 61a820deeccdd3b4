"""The alarm lifecycle against the store: load → transition (the pure machine) → save, and the effects as messages.

Every method is called inside the caller's transaction: the alarm, its audit entry and its deadline are written there,
and the messages it returns are queued there too, so a change is announced only once it is stored. Deadlines go
to the store only; the timers learn of them after the commit (bot/store/db.py), never before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.alarm import machine
from bot.alarm.machine import (
    Alarm,
    AnnounceUnit,
    Answer,
    ClearDeadline,
    Notify,
    Outcome,
    Page,
    Repeat,
    SetDeadline,
)
from bot.alarm.stats import figures
from bot.alarm.texts import facts_lines, handoff_text, page_text, reason_text, reminder_text, render
from bot.core.effects import Effect, Mention, PageUser, Reply, SendRoom, SendUser
from bot.core.figures import Figures
from bot.core.i18n import duration, t, tn
from bot.matrix.content import chunks_that_fit, content_for, longest_fitting
from bot.names import Names
from bot.store import OutboxRow, Store
from bot.store.alarms import AlarmRow
from bot.watch.metrics import Metrics
from rosters import Area, Roster

log = logging.getLogger(__name__)
# The answers to whoever takes an alarm, to which the facts they need are added.
_TAKING = frozenset({"alarm.accept_ok", "alarm.accept_ok_partial", "alarm.handoff_accept_ok"})


@dataclass(frozen=True)
class AlarmSettings:
    lang: str
    delivery_s: int  # how long a page may take to arrive before its person counts as unreachable
    step_wait_override_s: int = 0  # 0: each unit's own policy
    extra_supervisors: tuple[str, ...] = ()  # configured beside the rosters' supervisors
    unit_rooms: Mapping[str, str] | None = None  # unit id → its room
    repeat_share: float = 0.0  # of a step's wait, after which an unanswered page is repeated; 0: never
    no_repeat_units: frozenset[str] = frozenset()  # units whose pages are never repeated


class AlarmService:
    def __init__(self, store: Store, roster: Callable[[], Roster], settings: AlarmSettings,
                 metrics: Metrics | None = None, names: Names | None = None) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.roster = roster
        self.names = names or Names(roster)
        self.settings = settings
        self.lang = settings.lang
        # Told of every stored change (alarm, event) inside its transaction: the alarm room follows the alarm.
        self.followers: list[Callable[[Alarm, str], None]] = []

    # --- reading --------------------------------------------------------------------------------------------------
    def get(self, alarm_id: str) -> Alarm | None:
        state = self.store.alarms.state(alarm_id)
        return None if state is None else Alarm.from_dict(state)

    def paged_by(self, event_id: str) -> Alarm | None:
        found = self.store.alarms.alarm_of_page(event_id)
        return self.get(found) if found else None

    def raised_by_event(self, event_id: str) -> Alarm | None:
        found = self.store.alarms.raised_by_event(event_id)
        return self.get(found) if found else None

    def unfinished(self) -> list[Alarm]:
        return [Alarm.from_dict(s) for s in self.store.alarms.states()]

    def all(self) -> list[Alarm]:
        return [Alarm.from_dict(s) for s in
                self.store.alarms.states(("open", "exhausted", "accepted", "closed", "cancelled"))]

    def seen(self, alarm_id: str) -> dict[str, datetime]:
        """Who read their page of `alarm_id`, and when (from read receipts)."""
        return {user: datetime.fromtimestamp(at, UTC) for user, at in self.store.page_watch.seen(alarm_id).items()}

    def raised_since(self, user: str, since: datetime) -> int:
        return self.store.alarms.count_raised_by(user, since.timestamp())

    def figures(self, start: datetime, end: datetime) -> Figures:
        rows = self.store.alarms.states_raised_between(start.timestamp(), end.timestamp())
        return figures((Alarm.from_dict(s) for s in rows), start, end)

    # --- commands -------------------------------------------------------------------------------------------------
    def same_alarm(self, raised_by: str, area: str, details: str, case_number: str | None,
                   since: datetime) -> Alarm | None:
        """The alarm this `!larm` repeats: by the same officer since `since`, for the same area, with the same text
        (case and spacing aside) and no other case number; a cancelled one is not repeated but raised anew."""
        wanted = " ".join(details.casefold().split())
        for alarm_id, said in self.store.alarms.repeat_candidates(raised_by, area, since.timestamp()):
            if " ".join(said.casefold().split()) != wanted:
                continue
            alarm = self.get(alarm_id)
            if alarm is None or (case_number and alarm.case_number and case_number != alarm.case_number):
                continue
            return alarm
        return None

    def raise_alarm(self, area: Area, details: str, police_room: str, police_event: str, raised_by: str,
                    now: datetime, case_number: str | None = None, volume: int | None = None,
                    window_s: int = 600) -> list[Effect]:
        roster = self.roster()
        chain = roster.who(area.id, now, self.store.overrides.active())
        wait = self.settings.step_wait_override_s
        if wait:
            chain = replace(chain, steps=tuple(replace(s, wait_s=wait) for s in chain.steps))
        supervisors = sorted(roster.supervisors(chain.unit) | set(self.settings.extra_supervisors))
        number = self.store.sequences.next("alarm")
        repeat = 0.0 if chain.unit in self.settings.no_repeat_units else self.settings.repeat_share
        unit = roster.units.get(chain.unit)
        outcome = machine.raise_alarm(number, chain, police_room, police_event, raised_by, supervisors, now,
                                      delivery_s=self.settings.delivery_s, repeat_share=repeat,
                                      needed=unit.responders_needed if unit else 1, case_number=case_number,
                                      officer_name=self.names.name(raised_by, police_room),
                                      officer_phone=roster.phone(raised_by))
        log.info("alarm %s raised for area %s by %s", outcome.alarm.id, area.id, raised_by)
        effects = self._carry_out(outcome, raised_by, details)
        if any(isinstance(e, PageUser) and e.shortened for e in effects):
            # Right after the registration, so the police read it as part of the same answer.
            text = t("alarm.police_text_shortened", self.lang, id=outcome.alarm.id)
            effects.append(SendRoom(police_room, text, reply_to=police_event, alarm=outcome.alarm.id))
        if volume is not None:
            effects.extend(self._volume(outcome.alarm, volume, window_s, now))
        return effects

    def _volume(self, alarm: Alarm, count: int, window_s: int, now: datetime) -> list[Effect]:
        """An officer past their limit of alarms: the supervisors are told, once per window (a regional command
        centre on a busy night raises many, and every one is paged; many from one account may also be a mistake or
        a stolen login, which only a phone call settles)."""
        since = now.timestamp() - window_s
        told = [e for e in self.store.audit.about(alarm.raised_by)
                if e["action"] == "alarm.volume" and float(e["at"]) > since]
        if told:
            return []
        self.store.audit.append("timer", "alarm.volume", alarm.raised_by, {"alarm": alarm.id, "count": count})
        log.warning("alarm %s: %s has raised %d alarms within %d s", alarm.id, alarm.raised_by, count, window_s)
        officer = alarm.officer_name or self.names.name(alarm.raised_by, alarm.police_room)
        text = tn("alarm.volume", count, self.lang, officer=officer, window=duration(window_s, self.lang),
                  id=alarm.id, area=alarm.area_name)
        return [SendUser(s, text, mentions=(self.names.mention(s),), alarm=alarm.id) for s in alarm.supervisors]

    def accept(self, alarm_id: str, user: str, now: datetime, is_supervisor: bool) -> list[Effect]:
        alarm = self._load(alarm_id)
        roster = self.roster()
        outcome = machine.on_accept(alarm, user, now, is_supervisor, name=roster.people.get(user),
                                    phone=roster.phone(user))
        effects = self._carry_out(outcome, user)
        if outcome.event in ("accepted", "handed_off"):
            effects.extend(self._rest_of_the_text(outcome.alarm, user, handoff=outcome.event == "handed_off"))
        return effects

    def handoff(self, alarm_id: str, by: str, to: str | None, now: datetime, is_supervisor: bool) -> list[Effect]:
        """`by` asks `to` — or, without one, whoever is on call now for the alarm's area — to take the alarm over."""
        alarm = self._load(alarm_id)
        if to is None:
            to = self._on_call_now(alarm, by, now)
            if to is None:
                return [Reply(t("alarm.handoff_nobody", self.lang, id=alarm.id), refusal=True, alarm=alarm.id)]
        return self._carry_out(machine.on_handoff(alarm, by, to, self.names.name(to), now, is_supervisor), by)

    def _on_call_now(self, alarm: Alarm, by: str, now: datetime) -> str | None:
        """Who takes over an alarm handed on without a name: the first primary or secondary on call for its area
        now who does not already hold it (at 08:00, the day shift)."""
        chain = self.roster().who(alarm.area, now, self.store.overrides.active())
        for step in chain.steps:
            if step.role in ("primary", "secondary"):
                for person in step.people:
                    if person.user not in alarm.holders and person.user != by:
                        return person.user
        return None

    def _rest_of_the_text(self, alarm: Alarm, user: str, handoff: bool = False) -> list[Effect]:
        """What of the police's text the acceptor's page could not hold, in messages that each fit."""
        details = self.store.alarms.details(alarm.id).strip()
        paged = user in alarm.paged or handoff
        reader = Mention(user, alarm.name_of(user, self.names.name(user)))
        shown = self._fitting(alarm, reader, details, handoff=handoff) if paged else 0
        rest = details[shown:].strip()
        if not rest:
            return []

        def render(piece: str) -> dict[str, Any]:
            return content_for(t("alarm.text_continued", self.lang, id=alarm.id, part=99, parts=99, text=piece))

        pieces = chunks_that_fit(rest, render)
        return [SendUser(user, t("alarm.text_continued", self.lang, id=alarm.id, part=k, parts=len(pieces), text=p),
                         alarm=alarm.id) for k, p in enumerate(pieces, start=1)]

    def _fitting(self, alarm: Alarm, reader: Mention, details: str, reminder: bool = False,
                 handoff: bool = False) -> int:
        """How much of `details` the page (or its reminder) to `reader` holds so that it fits the homeserver's limit."""
        text = handoff_text if handoff else reminder_text if reminder else page_text

        def render(shown: str) -> dict[str, Any]:
            return content_for(text(alarm, self.lang, shown, shortened=True), mentions=(reader,))

        return longest_fitting(details, render)

    def decline(self, alarm_id: str, user: str, reason: str, now: datetime) -> list[Effect]:
        return self._carry_out(machine.on_decline(self._load(alarm_id), user, reason, now), user)

    def close(self, alarm_id: str, user: str, note: str, now: datetime, is_supervisor: bool) -> list[Effect]:
        alarm = self._load(alarm_id)
        name = self.roster().people.get(user)
        return self._carry_out(machine.on_close(alarm, user, note, now, is_supervisor, name=name), user)

    def cancel(self, alarm_id: str, user: str, reason: str, now: datetime, allowed: bool) -> list[Effect]:
        return self._carry_out(machine.on_cancel(self._load(alarm_id), user, reason, now, allowed), user)

    # --- timers and delivery --------------------------------------------------------------------------------------
    def deadline_due(self, alarm_id: str, due: float, now: datetime) -> list[Effect]:
        """The timer stored for `alarm_id` at `due` has come: the step's deadline or its repeat, whichever the alarm
        says. A stale one (the alarm moved on) is dropped."""
        alarm = self.get(alarm_id)
        if alarm is None:
            self.store.deadlines.clear(alarm_id)
            return []
        outcome = machine.on_deadline(alarm, now, due=datetime.fromtimestamp(due, UTC))
        if not outcome.changed:
            # The row and the alarm disagree, although both are written together: make the row follow the alarm, so
            # it neither fires again and again nor keeps an instant the alarm no longer has.
            next_due = alarm.next_due
            if next_due is None:
                self.store.deadlines.clear(alarm_id)
            else:
                self.store.deadlines.set(alarm_id, next_due.timestamp())
        return self._carry_out(outcome, "timer")

    def homeserver_was_down(self, down_s: float) -> list[Effect]:
        """After an outage: steps whose pages never arrived get their time back (machine.on_outage)."""
        out: list[Effect] = []
        for alarm in self.unfinished():
            out.extend(self._carry_out(machine.on_outage(alarm, down_s), "outage"))
        return out

    def page_delivered(self, alarm_id: str, step: int, user: str, event_id: str, at: datetime) -> list[Effect]:
        """Remember which event is the page (a ✅ on it accepts), and start the step's wait from now."""
        self.store.alarms.remember_page(event_id, alarm_id, user)
        alarm = self.get(alarm_id)
        if alarm is None:
            return []
        if step == alarm.step == 0 and not alarm.delivered and alarm.status == "open":
            self.metrics.page_delivered((at - alarm.raised_at).total_seconds())
        return self._carry_out(machine.on_page_delivered(alarm, user, step, at), "outbox")

    def remind_joined(self, user: str) -> list[Effect]:
        """`user` has just joined the direct room their pages went to while they were only invited: each page still
        waiting for their answer again, as its reminder, since their client may not have been able to read it
        (bot/trust/first_contact.py). Nothing about the alarm changes: its wait and its own repeat go on."""
        out: list[Effect] = []
        for alarm in self.unfinished():
            if user in machine.unanswered(alarm):
                repeat = Repeat(alarm.id, user, alarm.name_of(user), alarm.step)
                out.extend(self._carry_out(Outcome(alarm, (repeat,), "reminded"), "first_contact"))
        return out

    def unreachable(self, alarm_id: str, user: str, reason: str, now: datetime) -> list[Effect]:
        alarm = self.get(alarm_id)
        if alarm is None:
            return []
        log.warning("alarm %s: %s could not be reached (%s)", alarm_id, user, reason)
        return self._carry_out(machine.on_unreachable(alarm, user, reason, now), "outbox")

    def police_room_unreachable(self, alarm_id: str, reason: str) -> list[Effect]:
        """The police room did not get a message about `alarm_id`: its supervisors must phone the police."""
        alarm = self.get(alarm_id)
        if alarm is None:
            return []
        log.warning("alarm %s: the police room could not be reached (%s)", alarm_id, reason)
        text = t("alarm.police_room_unreachable", self.lang, id=alarm.id, area=alarm.area_name,
                 reason=reason_text(reason, self.lang))
        # They must phone the police now: it rings.
        return [SendUser(s, text, mentions=(self.names.mention(s),), alarm=alarm.id) for s in alarm.supervisors]

    # --- the outbox's listener -----------------------------------------------------------------------------------
    def delivered(self, row: OutboxRow, event_id: str, at: float) -> list[Effect]:
        reminder = row.reminder
        if reminder is not None:
            # A ✅ on the reminder, or "ok" in reply to it, takes the alarm as one on the page would; its wait
            # started with the page, and goes on.
            self.store.alarms.remember_page(event_id, reminder[0], row.target)
            return []
        page = row.page
        if page is None:
            return []
        return self.page_delivered(page[0], page[1], row.target, event_id, datetime.fromtimestamp(at, UTC))

    def undeliverable(self, row: OutboxRow, reason: str, at: float) -> list[Effect]:
        """A message about an alarm could not be delivered: a page's person is unreachable; a police room that
        cannot be told is the supervisors' to phone. Anything else is logged by the outbox and left there.

        A reminder that cannot be delivered leaves its reader as they were: their page did arrive, and the step's
        deadline moves the alarm on if they do not answer."""
        if row.reminder is not None:
            log.warning("alarm %s: the reminder to %s could not be delivered (%s)", row.reminder[0], row.target,
                        reason)
            return []
        page = row.page
        if page is not None:
            return self.unreachable(page[0], row.target, reason, datetime.fromtimestamp(at, UTC))
        alarm = self.get(row.alarm_id) if row.alarm_id else None
        if alarm is not None and row.target_kind == "room" and row.target == alarm.police_room:
            return self.police_room_unreachable(alarm.id, reason)
        return []

    # --- persistence ----------------------------------------------------------------------------------------------
    def _load(self, wanted: str) -> Alarm:
        alarm = self.get(wanted)
        if alarm is None:
            raise LookupError(f"no alarm {wanted}")  # handlers look alarms up first; this is a programming error
        return alarm

    def _carry_out(self, outcome: Outcome, actor: str, details: str | None = None) -> list[Effect]:
        """Store a changed alarm with its audit entry and deadline; turn its effects into messages."""
        alarm = outcome.alarm
        if outcome.changed:
            state = alarm.to_dict()
            if outcome.event == "raised":
                self.store.alarms.insert(
                    AlarmRow(alarm.id, alarm.number, alarm.status, alarm.area, alarm.unit, alarm.raised_by,
                             alarm.raised_at.timestamp(), alarm.police_room, state, alarm.police_event),
                    details or "",
                )
            else:
                self.store.alarms.update(alarm.id, alarm.status, state)
            data: dict[str, object] = {"status": alarm.status, "step": alarm.step}
            if outcome.event == "handoff_asked" and alarm.handoff_to:
                data["to"] = alarm.handoff_to
            self.store.audit.append(actor, f"alarm.{outcome.event}", alarm.id, data)
            waited = (alarm.accepted_at - alarm.raised_at).total_seconds() if (
                outcome.event == "accepted" and alarm.accepted_at) else None
            self.metrics.transition(outcome.event, waited)
            for follow in self.followers:
                follow(alarm, outcome.event)
        if details is None and any(isinstance(e, Page | Repeat) for e in outcome.effects):
            details = self.store.alarms.details(alarm.id)
        out: list[Effect] = []
        for effect in outcome.effects:
            if isinstance(effect, Page | Repeat):
                out.append(self._page(alarm, effect, (details or "").strip()))
            elif isinstance(effect, Answer):
                text = render(effect, self.lang)
                if effect.key in _TAKING:
                    # Whoever takes it gets what they need besides: the case number, the officer's phone.
                    text = "\n".join([text, *facts_lines(alarm, self.lang)])
                out.append(Reply(text, alarm=alarm.id, refusal=outcome.event == "refused", area=alarm.area))
            elif isinstance(effect, Notify):
                text = render(effect, self.lang)
                if effect.to_room:
                    out.append(SendRoom(effect.to_room, text, reply_to=effect.reply_to, alarm=alarm.id,
                                        mentions=self.names.mentions(effect.ring, effect.to_room)))
                elif effect.to_user:
                    out.append(SendUser(effect.to_user, text, alarm=alarm.id,
                                        mentions=self.names.mentions(effect.ring, None)))
            elif isinstance(effect, AnnounceUnit):
                room = (self.settings.unit_rooms or {}).get(effect.unit)
                if room:
                    out.append(SendRoom(room, render(effect, self.lang), alarm=alarm.id))
            elif isinstance(effect, SetDeadline):
                self.store.deadlines.set(effect.alarm_id, effect.at.timestamp())
            elif isinstance(effect, ClearDeadline):
                self.store.deadlines.clear(effect.alarm_id)
        return out

    def _page(self, alarm: Alarm, effect: Page | Repeat, details: str) -> PageUser:
        """The page, or its reminder, to one person, holding as much of the police's text as fits."""
        reader = Mention(effect.user, effect.name)
        reminder = isinstance(effect, Repeat)
        handoff = isinstance(effect, Page) and effect.handoff
        shown = self._fitting(alarm, reader, details, reminder, handoff)
        shortened = shown < len(details)
        render_page = handoff_text if handoff else reminder_text if reminder else page_text
        text = render_page(alarm, self.lang, details[:shown], shortened=shortened)
        log.info("alarm %s: %s %s (step %d)", alarm.id, "reminding" if reminder else "paging", effect.user,
                 effect.step)
        return PageUser(effect.user, effect.name, text, alarm.id, effect.step, shortened=shortened, reminder=reminder)
