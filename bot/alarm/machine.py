"""The alarm lifecycle as a pure state machine.

Every transition is a function `(alarm, ..., now) -> Outcome(alarm, effects)`. Nothing here reads a clock, a database
or the network: the runtime passes `now`, persists `outcome.alarm` together with `outcome.effects` in one transaction,
and only then delivers the effects. That ordering is what makes "written before it is announced" and "a restart loses
nothing" hold, and it is why a refusal returns the very same alarm object: the runtime can skip the write.

The police's free text never passes through here. A `Page` names who to page; the alarm service renders the message
with `bot.alarm.texts.page_text(alarm, lang, details)` from the details the store keeps sealed.

A step's wait runs from when its page reaches the person, not from when it was computed: an outage must not eat
anyone's time to answer. Until the first page of a step is delivered, the deadline is provisional (the page's delivery
deadline plus the wait); the outbox reports each delivery (`on_page_delivered`) and each person it could not reach
(`on_unreachable`, which moves on at once when nobody of the step is left).

An unanswered page is repeated once, ringing again, a share of the step's wait (`repeat_share`) after the step's first
page arrived: to everyone of the step whose page arrived and who has neither answered nor become unreachable. The alarm
has one timer, set to its next due instant (`Alarm.next_due`: the repeat or the deadline, whichever comes first);
`on_deadline` decides which of the two has come. A repeat neither moves the deadline nor counts as an escalation, and
anything that ends the step (an acceptance, declines, an escalation) drops a repeat still to come.

Effect params are JSON-safe (str, int, list of str) and times in them are already local "HH:MM", so an effect can be
rendered in any language later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.core.ids import alarm_id
from rosters.chain import Chain, ChainStep, OnCall
from rosters.model import DEFAULT_ZONE
from rosters.wallclock import hhmm, zone_named

Status = Literal["open", "accepted", "exhausted", "closed", "cancelled"]
# Statuses after which nothing more happens to an alarm.
FINISHED: frozenset[str] = frozenset({"closed", "cancelled"})

# Statuses in which the alarm still waits for someone to take it. An exhausted alarm has had its fallback sent,
# but a responder who answers late must still be able to take it.
AWAITING: frozenset[str] = frozenset({"open", "exhausted"})

_FORMAT_VERSION = 4
# Version 1 had no delivery or reachability fields, version 2 no repeat: they default to empty (no repeat). Version
# 3 had one acceptor and no hand-over, case number or officer's phone: its acceptor is its one holder.
_READABLE_VERSIONS = (1, 2, 3, 4)

# ---------------------------------------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Page:
    """Send the page (an encrypted DM that mentions `user`, text from `page_text`) to one responder.

    `handoff`: not a page of the chain but the holder's request that `user` take the alarm over (`!lämna`); its step
    is the alarm's, and its delivery starts no wait."""

    alarm_id: str
    user: str
    name: str
    step: int
    handoff: bool = False


@dataclass(frozen=True)
class Repeat:
    """Send `user`'s page of `step` again, marked as a reminder, so their phone rings once more."""

    alarm_id: str
    user: str
    name: str
    step: int


@dataclass(frozen=True)
class Notify:
    """A message to a room (the police room, as a reply to `reply_to`) or to a user's direct room.

    `ring`: the people who must know at once; the message mentions them so their phones ring. Everything else is
    left quiet (an m.notice): a phone that rings for every line is a phone people silence.
    """

    alarm_id: str
    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    to_room: str | None = None
    to_user: str | None = None
    reply_to: str | None = None
    ring: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.to_room is None) == (self.to_user is None):
            raise ValueError("Notify needs exactly one of to_room, to_user")


@dataclass(frozen=True)
class Answer:
    """An answer to whoever sent the command, in the room they used, as a reply to their event.

    The state machine does not know which room a command came from (a DM, the unit room, a ✅ on the page);
    the handler does, so confirmations and refusals are addressed relative to the command.
    """

    alarm_id: str
    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class AnnounceUnit:
    """A line in the unit's own room. Never carries the free text."""

    alarm_id: str
    unit: str
    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class SetDeadline:
    """Arm (or re-arm, replacing any earlier one) the alarm's single timer at its next due instant (`next_due`)."""

    alarm_id: str
    at: datetime


@dataclass(frozen=True)
class ClearDeadline:
    alarm_id: str


Effect = Page | Repeat | Notify | Answer | AnnounceUnit | SetDeadline | ClearDeadline


# ------------------------------------------------------------------------------------------------------------ alarm


@dataclass(frozen=True)
class Alarm:
    id: str
    number: int
    area: str
    area_name: str
    unit: str
    unit_name: str
    unit_phone: str
    police_room: str
    police_event: str
    raised_by: str
    raised_at: datetime
    chain: Chain
    tz: str = DEFAULT_ZONE  # the unit's zone: every time a user sees is shown in it
    supervisors: tuple[str, ...] = ()  # the unit's static supervisors: told on fallback and on roster gaps
    delivery_s: int = 60  # how long a page may take to reach its person before they count as unreachable
    repeat_share: float = 0.0  # of a step's wait, after which its unanswered pages are repeated; 0: never
    status: Status = "open"
    step: int = -1  # index of the last step that paged someone
    paged: tuple[str, ...] = ()  # everyone paged so far, in order, once each
    current: tuple[str, ...] = ()  # who was paged by step `step`; when all of them decline, escalate at once
    declined: frozenset[str] = frozenset()
    delivered: frozenset[str] = frozenset()  # who of `current` has their page; the step's wait runs from then
    unreachable: tuple[tuple[str, str], ...] = ()  # (user, reason) of everyone the homeserver could not reach
    decline_reasons: tuple[tuple[str, str], ...] = ()  # (user, reason), only non-empty reasons
    deadline: datetime | None = None  # when the next step is due (provisional until a page arrives); None unless open
    repeat_at: datetime | None = None  # when the current step's unanswered pages are repeated; None: not (any more)
    escalations: int = 0  # times the alarm moved on because nobody took it (deadline or declines)
    fallback_at: datetime | None = None
    accepted_by: str | None = None  # who holds it now, the first of `holders`
    accepted_name: str | None = None
    accepted_at: datetime | None = None  # the first acceptance: time to acceptance runs to it
    needed: int = 1  # how many go out together (the unit's responders_needed): taken when that many hold it
    holders: tuple[str, ...] = ()  # who holds the alarm now, in the order they took it
    acceptances: tuple[tuple[str, str], ...] = ()  # (user, ISO time) of every acceptance, take-overs included
    filled_at: datetime | None = None  # when it first had all `needed` holders: time to the last acceptance
    known_names: tuple[tuple[str, str], ...] = ()  # (user, name) of those outside the chain who took part
    case_number: str | None = None  # the police's händelsenummer: for the acceptor, never the police room's lines
    officer_name: str | None = None  # the raising officer, as the acceptor reads them
    officer_phone: str | None = None  # their own number, from the police file or the people file
    handoff_from: str | None = None  # a hand-over asked for (`!lämna`): from this holder …
    handoff_to: str | None = None  # … to this person, who has not taken it yet
    handoff_at: datetime | None = None
    closed_by: str | None = None
    closed_name: str | None = None
    closed_at: datetime | None = None
    close_note: str | None = None
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    @property
    def awaiting(self) -> bool:
        return self.status in AWAITING

    @property
    def pending(self) -> tuple[str, ...]:
        """Paged, not declined and not holding it: who could still answer."""
        return tuple(u for u in self.paged if u not in self.declined and u not in self.holders)

    @property
    def taken(self) -> bool:
        """Someone holds it, and it is not over: the phases may be recorded."""
        return bool(self.holders) and self.status not in FINISHED

    @property
    def next_due(self) -> datetime | None:
        """When the alarm's timer must fire next: the repeat or the step's deadline, whichever comes first."""
        due = [d for d in (self.deadline, self.repeat_at) if d is not None]
        return min(due) if due else None

    @property
    def unreachable_users(self) -> frozenset[str]:
        return frozenset(u for u, _ in self.unreachable)

    @property
    def step_failed(self) -> bool:
        """Everyone the current step paged has declined or cannot be reached: waiting longer helps nobody."""
        gone = self.declined | self.unreachable_users | set(self.holders)
        return self.status == "open" and bool(self.current) and all(u in gone for u in self.current)

    def name_of(self, user: str, default: str | None = None) -> str:
        """What people read for `user`: the chain's or a known name, the raising officer's, else `default`; never a
        Matrix id (its localpart at the last), which a person does not read as anyone."""
        for person in self.chain.everyone():
            if person.user == user:
                return person.name
        for known, name in self.known_names:
            if known == user:
                return name
        if user == self.raised_by and self.officer_name:
            return self.officer_name
        return default or (user[1:].split(":", 1)[0] if user.startswith("@") else user)

    def holder_names(self) -> tuple[str, ...]:
        return tuple(self.name_of(u) for u in self.holders)

    def to_dict(self) -> dict[str, Any]:
        """One JSON-safe row. It holds people's own words (decline reasons, a close note, a cancel reason): the store
        seals the whole state at rest (bot/store/alarms.py)."""
        out: dict[str, Any] = {"v": _FORMAT_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            elif isinstance(value, Chain):
                value = chain_to_dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alarm:
        if data.get("v") not in _READABLE_VERSIONS:
            raise ValueError(f"unknown alarm format {data.get('v')!r}")
        zone = zone_named(data["tz"])

        def when(key: str) -> datetime | None:
            raw = data.get(key)
            return None if raw is None else datetime.fromisoformat(raw).astimezone(zone)

        return cls(
            id=data["id"],
            number=int(data["number"]),
            area=data["area"],
            area_name=data["area_name"],
            unit=data["unit"],
            unit_name=data["unit_name"],
            unit_phone=data["unit_phone"],
            police_room=data["police_room"],
            police_event=data["police_event"],
            raised_by=data["raised_by"],
            raised_at=datetime.fromisoformat(data["raised_at"]).astimezone(zone),
            chain=chain_from_dict(data["chain"], zone),
            tz=data["tz"],
            supervisors=tuple(data["supervisors"]),
            delivery_s=int(data.get("delivery_s", 60)),
            repeat_share=float(data.get("repeat_share", 0.0)),
            status=data["status"],
            step=int(data["step"]),
            paged=tuple(data["paged"]),
            current=tuple(data["current"]),
            declined=frozenset(data["declined"]),
            delivered=frozenset(data.get("delivered", ())),
            unreachable=tuple((u, r) for u, r in data.get("unreachable", ())),
            decline_reasons=tuple((u, r) for u, r in data["decline_reasons"]),
            deadline=when("deadline"),
            repeat_at=when("repeat_at"),
            escalations=int(data["escalations"]),
            fallback_at=when("fallback_at"),
            accepted_by=data["accepted_by"],
            accepted_name=data["accepted_name"],
            accepted_at=when("accepted_at"),
            **_holding(data, when),
            closed_by=data["closed_by"],
            closed_name=data["closed_name"],
            closed_at=when("closed_at"),
            close_note=data["close_note"],
            cancelled_by=data.get("cancelled_by"),
            cancelled_at=when("cancelled_at"),
            cancel_reason=data.get("cancel_reason"),
        )


def _holding(data: dict[str, Any], when: Callable[[str], datetime | None]) -> dict[str, Any]:
    """The fields version 4 added. An older alarm had one acceptor: they hold it, and it was full when they took it."""
    if data["v"] < 4:
        acceptor, accepted_at = data["accepted_by"], data["accepted_at"]
        return {"holders": (acceptor,) if acceptor else (),
                "acceptances": ((acceptor, accepted_at),) if acceptor and accepted_at else (),
                "filled_at": when("accepted_at")}
    return {
        "needed": int(data["needed"]),
        "holders": tuple(data["holders"]),
        "acceptances": tuple((u, at) for u, at in data["acceptances"]),
        "filled_at": when("filled_at"),
        "known_names": tuple((u, n) for u, n in data["known_names"]),
        "case_number": data["case_number"],
        "officer_name": data["officer_name"],
        "officer_phone": data["officer_phone"],
        "handoff_from": data["handoff_from"],
        "handoff_to": data["handoff_to"],
        "handoff_at": when("handoff_at"),
    }


def chain_to_dict(chain: Chain) -> dict[str, Any]:
    return {
        "area": chain.area,
        "area_name": chain.area_name,
        "at": chain.at.isoformat(),
        "unit": chain.unit,
        "unit_name": chain.unit_name,
        "unit_phone": chain.unit_phone,
        "steps": [
            {
                "role": s.role,
                "wait_s": s.wait_s,
                "people": [{"role": p.role, "user": p.user, "name": p.name} for p in s.people],
            }
            for s in chain.steps
        ],
    }


def chain_from_dict(data: dict[str, Any], zone: ZoneInfo | None = None) -> Chain:
    at = datetime.fromisoformat(data["at"])
    return Chain(
        area=data["area"],
        area_name=data["area_name"],
        at=at.astimezone(zone) if zone else at,
        unit=data["unit"],
        unit_name=data["unit_name"],
        unit_phone=data["unit_phone"],
        steps=tuple(
            ChainStep(
                role=s["role"],
                wait_s=int(s["wait_s"]),
                people=tuple(OnCall(role=p["role"], user=p["user"], name=p["name"]) for p in s["people"]),
            )
            for s in data["steps"]
        ),
    )


@dataclass(frozen=True)
class Outcome:
    """The new alarm and what the runtime must do. `changed` False: nothing to persist, only the effects to send."""

    alarm: Alarm
    effects: tuple[Effect, ...] = ()
    # What triggered the change, for the audit trail: raised, escalated, exhausted (a deadline ran out the chain),
    # accepted, declined, closed; refused (nothing changed, only an answer); ignored (a stale or early timer).
    event: str = "ignored"
    changed: bool = False


# ------------------------------------------------------------------------------------------------------ transitions


def raise_alarm(
    number: int,
    chain: Chain,
    police_room: str,
    police_event: str,
    raised_by: str,
    supervisors: Sequence[str],
    now: datetime,
    delivery_s: int = 60,
    repeat_share: float = 0.0,
    needed: int = 1,
    case_number: str | None = None,
    officer_name: str | None = None,
    officer_phone: str | None = None,
) -> Outcome:
    """Register an alarm and page the first step that has someone in it.

    `repeat_share`: the share of a step's wait after which its unanswered pages are repeated (0: never). `needed`:
    how many the unit sends out together; paging goes on until that many have accepted. `case_number`: the police's
    own reference, for the acceptor and the records, never in the police room's lines; `officer_name` and
    `officer_phone`: how the acceptor reaches the officer who raised it."""
    _require_aware(now)
    alarm = Alarm(
        id=alarm_id(number),
        number=number,
        area=chain.area,
        area_name=chain.area_name,
        unit=chain.unit,
        unit_name=chain.unit_name,
        unit_phone=chain.unit_phone,
        police_room=police_room,
        police_event=police_event,
        raised_by=raised_by,
        raised_at=now,
        chain=chain,
        tz=_zone_name(chain.at),
        supervisors=tuple(dict.fromkeys(supervisors)),
        delivery_s=delivery_s,
        repeat_share=repeat_share,
        needed=max(1, needed),
        case_number=case_number or None,
        officer_name=officer_name,
        officer_phone=officer_phone or None,
    )
    step = _next_step(alarm, now)
    alarm = step.alarm
    effects: list[Effect] = list(step.pages)
    base = _base_params(alarm)
    if step.paged:
        # Quiet: it answers the officer's own !larm, read by someone looking at the room that moment. What they must
        # not miss later (taken, escalated, nobody reachable) rings.
        effects.append(_police(alarm, "alarm.raised", **base, time=local_time(alarm, now), names=_names(step.paged)))
        effects.append(_unit(alarm, "alarm.unit.raised", **base, time=local_time(alarm, now), names=_names(step.paged)))
        assert alarm.deadline is not None  # a step that paged someone has a deadline
        effects.append(SetDeadline(alarm.id, alarm.deadline))
    else:
        effects.append(_police(alarm, "alarm.raised_nobody", **base, time=local_time(alarm, now)))
    effects.extend(_gap_notices(alarm, step.gaps))
    if not step.paged:
        effects.extend(_fallback(alarm))
    return Outcome(alarm, tuple(effects), "raised", changed=True)


def on_deadline(alarm: Alarm, now: datetime, due: datetime | None = None) -> Outcome:
    """The alarm's timer fired: when the step's wait is over, page the next step or fall back; when only the
    repeat has come, page the step's unanswered people once more.

    A timer that is early, duplicated, or left over from an earlier step has no effect: the alarm's own instants
    decide. Pass `due` (the instant the timer was armed for) to also ignore a stale timer that fires late. A repeat
    and a deadline both past (the bot was down) escalate: the wait is over, a reminder would only delay the next step.
    """
    _require_aware(now)
    next_due = alarm.next_due
    if alarm.status != "open" or next_due is None or now < next_due:
        return Outcome(alarm)
    if due is not None and due != next_due:
        return Outcome(alarm)
    if alarm.deadline is not None and now >= alarm.deadline:
        return _escalate(alarm, now, [], "escalated")
    return _repeat(alarm)


def on_accept(alarm: Alarm, user: str, now: datetime, is_supervisor: bool, name: str | None = None,
              phone: str | None = None) -> Outcome:
    """A paged responder or a supervisor takes the alarm; the first ones win.

    The alarm is taken when `needed` people hold it; until then each acceptance is told to the police ("1 av 2")
    and paging goes on: at once to the next step when nobody of the current one is left to answer, else at its
    deadline. The person a holder asked to take over (`!lämna`) takes it by accepting, whatever its state.
    `name` is used when the user is not in the chain (a supervisor accepting from outside it). `phone`: the
    acceptor's own number from the roster, if they have one; the police get it beside the unit's.
    """
    _require_aware(now)
    if alarm.handoff_to == user and alarm.holders and alarm.status not in FINISHED:
        return _take_over(alarm, user, now, name, phone)
    # Who may act is checked before the state is revealed, so a stranger learns nothing about the alarm.
    if user not in alarm.paged and not is_supervisor:
        return _refuse(alarm, "alarm.not_paged")
    if alarm.status in FINISHED:
        return _refuse_finished(alarm)
    if user in alarm.holders:
        return _refuse(alarm, "alarm.already_yours")
    if alarm.status == "accepted":
        return _refuse_taken(alarm)

    who = alarm.name_of(user, name)
    holders = alarm.holders + (user,)
    full = len(holders) >= alarm.needed
    new = replace(
        alarm,
        holders=holders,
        accepted_by=holders[0],
        accepted_name=alarm.accepted_name if alarm.holders else who,
        accepted_at=alarm.accepted_at or now,
        acceptances=alarm.acceptances + ((user, now.isoformat()),),
        known_names=_knowing(alarm, user, who),
    )
    if full:
        new = replace(new, status="accepted", deadline=None, repeat_at=None, filled_at=now)
    base = _base_params(new)
    time = local_time(new, now)
    effects: list[Effect] = []
    if full and alarm.next_due is not None:
        effects.append(ClearDeadline(new.id))
    effects.append(_accepted_line(new, who, time, phone, count=len(holders)))
    effects.append(Answer(new.id, "alarm.accept_ok" if full else "alarm.accept_ok_partial",
                          {**base, "count": len(holders), "needed": new.needed}))
    if not full:
        effects.append(_unit(new, "alarm.unit.accepted_partial", **base, name=who, time=time, count=len(holders),
                             needed=new.needed))
        if new.step_failed:
            # Nobody of this step is left to answer: the next one is paged now, not at the step's deadline.
            return _seek_more(new, now, effects)
        return Outcome(new, tuple(effects), "accepted", changed=True)
    # Supervisors who got the fallback were asked to act; they must hear that someone did.
    told = list(alarm.pending) + (list(alarm.supervisors) if alarm.fallback_at is not None else [])
    names = new.holder_names()
    for other in dict.fromkeys(told):
        if other not in holders:
            effects.append(_dm(new, other, "alarm.taken", **base, name=_names_param(names), time=time))
    effects.append(_unit(new, "alarm.unit.accepted", **base, name=_names_param(names), time=time))
    return Outcome(new, tuple(effects), "accepted", changed=True)


def _accepted_line(alarm: Alarm, who: str, time: str, phone: str | None, count: int) -> Notify:
    """The police room's line for one acceptance: who, when, how to reach them; "1 av 2" when more are needed."""
    base = _base_params(alarm)
    if alarm.needed > 1:
        key = "alarm.accepted_n_direct" if phone else "alarm.accepted_n"
        return _police(alarm, key, **base, ring=True, name=who, time=time, count=count, needed=alarm.needed,
                       phone=alarm.unit_phone, **({"own_phone": phone} if phone else {}))
    if phone:
        return _police(alarm, "alarm.accepted_direct", **base, ring=True, name=who, time=time, own_phone=phone,
                       phone=alarm.unit_phone)
    return _police(alarm, "alarm.accepted", **base, ring=True, name=who, time=time, phone=alarm.unit_phone)


def _seek_more(alarm: Alarm, now: datetime, effects: list[Effect]) -> Outcome:
    """Some, not all, of those needed hold the alarm and nobody of the current step is left: page the next step
    (not an escalation: someone did take it), or, with the chain run out, tell the police and supervisors."""
    step = _next_step(alarm, now)
    return Outcome(step.alarm, tuple(effects) + _moved_on(alarm, step), "accepted", changed=True)


def _moved_on(alarm: Alarm, step: _Step) -> tuple[Effect, ...]:
    """What the chain's next step (or its end) says and sets: its pages; the police told who is sought now (as more
    of those needed once some hold it) and the unit; the new deadline; or, with the chain run out, the fallback."""
    new = step.alarm
    out: list[Effect] = list(step.pages)
    base = _base_params(new)
    if step.paged:
        if new.holders:
            out.append(_police(new, "alarm.seeking_more", **base, names=_names(step.paged), count=len(new.holders),
                               needed=new.needed))
        else:
            out.append(_police(new, "alarm.escalated", **base, ring=True, names=_names(step.paged)))
        out.append(_unit(new, "alarm.unit.escalated", **base, names=_names(step.paged)))
        assert new.deadline is not None
        out.append(SetDeadline(new.id, new.deadline))
    out.extend(_gap_notices(new, step.gaps))
    if not step.paged:
        if alarm.next_due is not None:
            out.append(ClearDeadline(new.id))
        out.extend(_fallback(new))
    return tuple(out)


def _take_over(alarm: Alarm, user: str, now: datetime, name: str | None, phone: str | None) -> Outcome:
    """The person a holder asked (`!lämna`) takes the alarm over: they hold it in the giver's place, with the
    phases recorded so far; the police, the giver and the unit are told."""
    who = alarm.name_of(user, name)
    giver = alarm.handoff_from if alarm.handoff_from in alarm.holders else alarm.holders[0]
    giver_name = alarm.name_of(giver)
    holders = tuple(user if h == giver else h for h in alarm.holders)
    new = replace(
        alarm,
        holders=holders,
        accepted_by=holders[0],
        accepted_name=who if holders[0] == user else alarm.accepted_name,
        acceptances=alarm.acceptances + ((user, now.isoformat()),),
        known_names=_knowing(alarm, user, who),
        handoff_from=None,
        handoff_to=None,
        handoff_at=None,
    )
    base = _base_params(new)
    time = local_time(new, now)
    effects: list[Effect] = []
    if phone:
        effects.append(_police(new, "alarm.handed_off_direct", **base, ring=True, name=who, giver=giver_name,
                               time=time, own_phone=phone, phone=new.unit_phone))
    else:
        effects.append(_police(new, "alarm.handed_off", **base, ring=True, name=who, giver=giver_name, time=time,
                               phone=new.unit_phone))
    effects.append(Answer(new.id, "alarm.handoff_accept_ok", {**base, "giver": giver_name}))
    effects.append(_dm(new, giver, "alarm.handoff_done", **base, name=who, time=time))
    effects.append(_unit(new, "alarm.unit.handed_off", **base, name=who, giver=giver_name, time=time))
    return Outcome(new, tuple(effects), "handed_off", changed=True)


def on_handoff(alarm: Alarm, by: str, to: str, to_name: str, now: datetime, is_supervisor: bool) -> Outcome:
    """A holder (or a supervisor, for the first holder) asks `to` to take the alarm over: `to` is paged and takes
    it by accepting; until then the holder keeps it. A later request replaces an earlier one not yet taken."""
    _require_aware(now)
    if by not in alarm.holders and not is_supervisor:
        return _refuse(alarm, "alarm.handoff_forbidden")
    if alarm.status in FINISHED:
        return _refuse_finished(alarm)
    if not alarm.holders:
        return _refuse(alarm, "alarm.handoff_not_taken")
    if to in alarm.holders:
        return _refuse(alarm, "alarm.handoff_holds", name=alarm.name_of(to, to_name))
    giver = by if by in alarm.holders else alarm.holders[0]
    new = replace(alarm, handoff_from=giver, handoff_to=to, handoff_at=now, known_names=_knowing(alarm, to, to_name))
    name = new.name_of(to, to_name)
    effects: list[Effect] = [
        Page(new.id, to, name, new.step, handoff=True),
        Answer(new.id, "alarm.handoff_asked", {**_base_params(new), "name": name}),
    ]
    return Outcome(new, tuple(effects), "handoff_asked", changed=True)


def _knowing(alarm: Alarm, user: str, name: str) -> tuple[tuple[str, str], ...]:
    """The alarm's names with `user`'s, when the chain does not have it."""
    if any(p.user == user for p in alarm.chain.everyone()) or any(u == user for u, _ in alarm.known_names):
        return alarm.known_names
    return alarm.known_names + ((user, name),)


def _names_param(names: Sequence[str]) -> str | tuple[str, ...]:
    """One name as it is; several as a tuple, which bot.alarm.texts lists as the reader's language does."""
    return names[0] if len(names) == 1 else tuple(names)


def on_decline(alarm: Alarm, user: str, reason: str, now: datetime) -> Outcome:
    """A paged responder says no. When everyone the current step paged has said no, move on at once. The one asked
    to take an alarm over may say no too: the holder keeps it, and is told."""
    _require_aware(now)
    if alarm.handoff_to == user and alarm.handoff_from and alarm.status not in FINISHED:
        new = replace(alarm, handoff_from=None, handoff_to=None, handoff_at=None)
        holder = _dm(new, alarm.handoff_from, "alarm.handoff_declined", ring=True, **_base_params(new),
                     name=new.name_of(user))
        return Outcome(new, (Answer(new.id, "alarm.decline_ok", {"id": new.id}), holder), "handoff_declined",
                       changed=True)
    if user not in alarm.paged:
        return _refuse(alarm, "alarm.not_paged")
    if alarm.status in FINISHED:
        return _refuse_finished(alarm)
    if user in alarm.holders:
        return _refuse(alarm, "alarm.decline_own")
    if alarm.status == "accepted":
        return _refuse_taken(alarm)
    if user in alarm.declined:
        return _refuse(alarm, "alarm.declined_already")

    reason = reason.strip()
    new = replace(
        alarm,
        declined=alarm.declined | {user},
        decline_reasons=alarm.decline_reasons + (((user, reason),) if reason else ()),
    )
    confirm: list[Effect] = [Answer(new.id, "alarm.decline_ok", {"id": new.id})]
    if new.step_failed:
        return _escalate(new, now, confirm, "declined")
    return Outcome(new, tuple(confirm), "declined", changed=True)


def on_close(
    alarm: Alarm, user: str, note: str, now: datetime, is_supervisor: bool, name: str | None = None
) -> Outcome:
    """The acceptor or a supervisor closes the alarm; a supervisor may also close one nobody took."""
    _require_aware(now)
    allowed = is_supervisor or user in alarm.holders
    if not allowed:
        if alarm.status in FINISHED and user in alarm.paged:
            return _refuse_finished(alarm)
        return _refuse(alarm, "alarm.close_forbidden")
    if alarm.status in FINISHED:
        return _refuse_finished(alarm)

    who = alarm.name_of(user, name)
    note = note.strip()
    new = replace(
        alarm,
        status="closed",
        closed_by=user,
        closed_name=who,
        closed_at=now,
        close_note=note or None,
        deadline=None,
        repeat_at=None,
        handoff_from=None,
        handoff_to=None,
        handoff_at=None,
    )
    base = _base_params(new)
    time = local_time(new, now)
    effects: list[Effect] = []
    if alarm.next_due is not None:
        effects.append(ClearDeadline(new.id))
    effects.append(_police(new, "alarm.closed", **base, name=who, time=time))
    effects.append(Answer(new.id, "alarm.close_ok", {"id": new.id}))
    # Whoever holds it, and while it still waited for more, everyone still asked to act: they no longer need to.
    told = _still_asked(alarm)
    for other in dict.fromkeys(told):
        if other != user:
            effects.append(_dm(new, other, "alarm.closed_for_you", **base, name=who, time=time))
    effects.append(_unit(new, "alarm.unit.closed", **base, name=who, time=time))
    return Outcome(new, tuple(effects), "closed", changed=True)


def on_cancel(alarm: Alarm, user: str, reason: str, now: datetime, allowed: bool) -> Outcome:
    """An alarm raised by mistake is cancelled (by the officer who raised it, or a supervisor: `allowed`).

    Everyone still expected to act — the paged who have not declined, the acceptor, the supervisors after a fallback —
    is told they need not; so are the police room and the unit. The reason is kept with the alarm, never sent.
    """
    _require_aware(now)
    if not allowed:
        return _refuse(alarm, "alarm.cancel_forbidden")
    if alarm.status in FINISHED:
        return _refuse_finished(alarm)
    new = replace(alarm, status="cancelled", cancelled_by=user, cancelled_at=now,
                  cancel_reason=reason.strip() or None, deadline=None, repeat_at=None, handoff_from=None,
                  handoff_to=None, handoff_at=None)
    base = _base_params(new)
    time = local_time(new, now)
    effects: list[Effect] = []
    if alarm.next_due is not None:
        effects.append(ClearDeadline(new.id))
    # The officer who raised it must know at once, unless it is they who cancelled: their own phone ringing for what
    # they just typed tells them nothing.
    effects.append(_police(new, "alarm.cancelled", **base, ring=user != alarm.raised_by, time=time))
    effects.append(Answer(new.id, "alarm.cancel_ok", {"id": new.id}))
    for other in _still_asked(alarm):
        if other != user:
            effects.append(_dm(new, other, "alarm.cancelled_for_you", **base, time=time))
    effects.append(_unit(new, "alarm.unit.cancelled", **base, time=time))
    return Outcome(new, tuple(effects), "cancelled", changed=True)


def _still_asked(alarm: Alarm) -> list[str]:
    """Everyone expected to act on the alarm now: its holders, the one asked to take it over, and while it waits for
    someone to take it, the paged who have not declined, and the supervisors once the fallback went to them."""
    told = list(alarm.holders) + ([alarm.handoff_to] if alarm.handoff_to else [])
    if alarm.awaiting:
        told += list(alarm.pending) + (list(alarm.supervisors) if alarm.fallback_at is not None else [])
    return list(dict.fromkeys(told))


def on_page_delivered(alarm: Alarm, user: str, step: int, at: datetime) -> Outcome:
    """The homeserver accepted `user`'s page of `step` at `at`: their time to answer starts now.

    The step's deadline becomes the latest delivery plus the step's wait, so a page held up by an outage gives its
    reader the whole wait. A late delivery of an earlier step's page changes nothing.
    """
    _require_aware(at)
    if alarm.status != "open" or step != alarm.step or user not in alarm.current or user in alarm.delivered:
        return Outcome(alarm)
    wait_s = alarm.chain.steps[step].wait_s
    answer_by = at + timedelta(seconds=wait_s)
    repeat_at = alarm.repeat_at
    if alarm.delivered and alarm.deadline is not None:
        answer_by = max(answer_by, alarm.deadline)
    elif not alarm.delivered and 0 < alarm.repeat_share < 1:
        # The step's first page to arrive sets its one repeat; whoever has their page by then is reminded.
        repeat_at = at + timedelta(seconds=wait_s * alarm.repeat_share)
    if repeat_at is not None and repeat_at >= answer_by:
        repeat_at = None  # a wait too short to repeat within: the next step comes first
    new = replace(alarm, delivered=alarm.delivered | {user}, deadline=answer_by, repeat_at=repeat_at)
    assert new.next_due is not None
    return Outcome(new, (SetDeadline(new.id, new.next_due),), "delivered", changed=True)


def on_outage(alarm: Alarm, down_s: float) -> Outcome:
    """The homeserver was down for `down_s` seconds and is back. A step whose pages have not arrived yet waited for
    nothing anyone could do: its provisional deadline moves on by the outage, so nobody is passed over for it. A step
    whose pages arrived keeps its deadline (its readers had their page; the deadlines held during the outage fire
    once what was said meanwhile has been read)."""
    if alarm.status != "open" or alarm.delivered or alarm.deadline is None or down_s <= 0:
        return Outcome(alarm)
    new = replace(alarm, deadline=alarm.deadline + timedelta(seconds=down_s))
    assert new.next_due is not None
    return Outcome(new, (SetDeadline(new.id, new.next_due),), "postponed", changed=True)


def on_unreachable(alarm: Alarm, user: str, reason: str, now: datetime) -> Outcome:
    """`user`'s page could not be delivered (`reason`: a failure class such as "forbidden" or "timeout").

    The police and the supervisors are told in plain words; when nobody of the current step is left to answer, the
    alarm moves on at once, as after declines.
    """
    _require_aware(now)
    if alarm.handoff_to == user and alarm.status not in FINISHED and alarm.handoff_from:
        # The one asked to take it over cannot be reached: the holder keeps it, and learns so.
        new = replace(alarm, handoff_from=None, handoff_to=None, handoff_at=None)
        holder = _dm(new, alarm.handoff_from, "alarm.handoff_unreachable", ring=True, **_base_params(new),
                     name=new.name_of(user), reason=reason)
        return Outcome(new, (holder,), "handoff_failed", changed=True)
    if alarm.status != "open" or user not in alarm.paged or user in alarm.unreachable_users:
        return Outcome(alarm)
    new = replace(alarm, unreachable=alarm.unreachable + ((user, reason),))
    base = _base_params(new)
    name = new.name_of(user)
    told: list[Effect] = [_police(new, "alarm.unreachable", **base, ring=True, names=name, reason=reason)]
    told.extend(_dm(new, sup, "alarm.unreachable_supervisor", **base, ring=True, name=name, reason=reason)
                for sup in new.supervisors if sup != user)
    if new.step_failed:
        return _escalate(new, now, told, "unreachable")
    return Outcome(new, tuple(told), "unreachable", changed=True)


# ------------------------------------------------------------------------------------------------------ escalation


@dataclass(frozen=True)
class _Step:
    alarm: Alarm
    pages: tuple[Page, ...]
    paged: tuple[OnCall, ...]
    gaps: tuple[str, ...]  # roles of steps skipped because the roster had nobody in them


def _next_step(alarm: Alarm, now: datetime) -> _Step:
    """Page the next step that has someone not yet paged or declined; mark the alarm exhausted if none is left."""
    gaps: list[str] = []
    reached = set(alarm.paged) | alarm.declined | alarm.unreachable_users | set(alarm.holders)
    for index in range(alarm.step + 1, len(alarm.chain.steps)):
        step = alarm.chain.steps[index]
        if not step.people:
            gaps.append(step.role)
            continue
        targets = [p for p in _unique(step.people) if p.user not in reached]
        if not targets:
            continue
        new = replace(
            alarm,
            step=index,
            paged=alarm.paged + tuple(p.user for p in targets),
            current=tuple(p.user for p in targets),
            delivered=frozenset(),
            deadline=now + timedelta(seconds=alarm.delivery_s + step.wait_s),
            repeat_at=None,  # set when the new step's first page arrives
        )
        pages = tuple(Page(new.id, p.user, p.name, index) for p in targets)
        return _Step(new, pages, tuple(targets), tuple(gaps))
    new = replace(alarm, status="exhausted", deadline=None, repeat_at=None, fallback_at=now)
    return _Step(new, (), (), tuple(gaps))


def _escalate(alarm: Alarm, now: datetime, effects: list[Effect], event: str) -> Outcome:
    step = _next_step(replace(alarm, escalations=alarm.escalations + 1), now)
    if not step.paged and event == "escalated":
        event = "exhausted"
    return Outcome(step.alarm, tuple(effects) + _moved_on(alarm, step), event, changed=True)


def unanswered(alarm: Alarm) -> list[str]:
    """Everyone of the current step who has their page and has not answered it (nor could not be reached)."""
    if alarm.status != "open":
        return []
    gone = alarm.declined | alarm.unreachable_users | set(alarm.holders)
    return [u for u in alarm.current if u in alarm.delivered and u not in gone]


def _repeat(alarm: Alarm) -> Outcome:
    """The step's repeat has come: page once more everyone of it who has their page and has not answered."""
    again = unanswered(alarm)
    new = replace(alarm, repeat_at=None)
    effects: list[Effect] = [Repeat(new.id, u, new.name_of(u), new.step) for u in again]
    assert new.next_due is not None  # an open alarm has its deadline
    effects.append(SetDeadline(new.id, new.next_due))
    return Outcome(new, tuple(effects), "repeated", changed=True)


def _fallback(alarm: Alarm) -> list[Effect]:
    key = "alarm.fallback_partial" if alarm.holders else "alarm.fallback" if alarm.paged else "alarm.fallback_nobody"
    params = {**_base_params(alarm), "phone": alarm.unit_phone}
    if alarm.holders:
        params.update(count=len(alarm.holders), needed=alarm.needed, names=alarm.holder_names())
    out: list[Effect] = [_police(alarm, key, ring=True, **params)]
    out.extend(_dm(alarm, sup, key, ring=True, **params) for sup in alarm.supervisors)
    out.append(_unit(alarm, "alarm.unit.fallback_partial" if alarm.holders else "alarm.unit.fallback", **params))
    return out


def _gap_notices(alarm: Alarm, gaps: Sequence[str]) -> list[Effect]:
    # A gap is a roster error the supervisors must fix, and they are the ones the alarm now leans on.
    if not gaps:
        return []
    roles = list(dict.fromkeys(gaps))
    return [_dm(alarm, sup, "alarm.gap", **_base_params(alarm), roles=roles) for sup in alarm.supervisors]


# -------------------------------------------------------------------------------------------------------- helpers


def _refuse(alarm: Alarm, key: str, **params: Any) -> Outcome:
    return Outcome(alarm, (Answer(alarm.id, key, {"id": alarm.id, **params}),), "refused", changed=False)


def _refuse_finished(alarm: Alarm) -> Outcome:
    return _refuse(alarm, "alarm.cancelled_already" if alarm.status == "cancelled" else "alarm.closed_already")


def _refuse_taken(alarm: Alarm) -> Outcome:
    taken_at = alarm.accepted_at or alarm.raised_at
    return _refuse(alarm, "alarm.already_taken", name=alarm.accepted_name, time=local_time(alarm, taken_at))


def _police(alarm: Alarm, key: str, ring: bool = False, **params: Any) -> Notify:
    """A line in the police room, as a reply to the alarm; `ring`: the officer who raised it must know at once."""
    return Notify(alarm.id, key, dict(params), to_room=alarm.police_room, reply_to=alarm.police_event,
                  ring=(alarm.raised_by,) if ring else ())


def _dm(alarm: Alarm, user: str, key: str, ring: bool = False, **params: Any) -> Notify:
    """A message in `user`'s direct room; `ring`: they must know at once."""
    return Notify(alarm.id, key, dict(params), to_user=user, ring=(user,) if ring else ())


def _unit(alarm: Alarm, key: str, **params: Any) -> AnnounceUnit:
    return AnnounceUnit(alarm.id, alarm.unit, key, dict(params))


def _base_params(alarm: Alarm) -> dict[str, Any]:
    return {"id": alarm.id, "area": alarm.area_name, "unit": alarm.unit_name}


def _names(people: Sequence[OnCall]) -> tuple[str, ...]:
    """The people paged, in order; bot.alarm.texts lists them as the reader's language does ("Anna A och Bo B")."""
    return tuple(p.name for p in people)


def _unique(people: Iterable[OnCall]) -> list[OnCall]:
    seen: dict[str, OnCall] = {}
    for p in people:
        seen.setdefault(p.user, p)
    return list(seen.values())


def _zone_name(at: datetime) -> str:
    # A fixed offset (as parsed from ISO text) would show wrong times after a DST change; only a named zone is kept.
    return at.tzinfo.key if isinstance(at.tzinfo, ZoneInfo) else DEFAULT_ZONE


def local_time(alarm: Alarm, when: datetime) -> str:
    """`when` as HH:MM on the unit's wall clock."""
    return hhmm(when, zone_named(alarm.tz))


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
