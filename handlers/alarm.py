"""!larm, !ok, !nej, !klar, !status, and acceptance by a ✅ reaction or an "ok" reply to a page.

Here is what a command means: the area typed, the rate limit, which alarm an `!ok` without an id is about, how the
open alarms read. The lifecycle itself is the alarm service's (reached through `ctx.services.alarms`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.desks import AlarmRecord
from bot.core.effects import Effect, Mention, Reply, SendRoom
from bot.core.i18n import either, listing, t
from bot.core.ids import parse_alarm_id
from bot.core.roles import Role
from handlers.handover import waiting_lines
from handlers.phases import closing_refusal, phase_names
from handlers.registry import ANY_ROLE, Command, Context, Passive, Registry
from rosters.names import fold
from rosters.wallclock import hhmm, zone_named

log = logging.getLogger(__name__)

ALARM_ROLES = frozenset({Role.RESPONDER, Role.SUPERVISOR})
# A reply meaning "I take it"; compared after folding case and diacritics, without trailing punctuation.
ACCEPT_WORDS = frozenset({"ok", "ja", "yes", "okej"})
ACCEPT_REACTIONS = ("✅", "✔", "👍")


@dataclass(frozen=True)
class AlarmLimits:
    """How many alarms one officer raises within a window before the supervisors are told (every alarm is still
    paged: an alarm is never refused for volume), and for how long the same area and text from the same officer is
    the same alarm, not a new one."""

    count: int
    window_s: int
    repeat_s: int = 300


@dataclass(frozen=True)
class Ambiguous:
    """More than one alarm fits; the user must name one."""

    alarms: tuple[AlarmRecord, ...]

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.alarms]


def pick_alarm(open_alarms: Iterable[AlarmRecord], user: str, is_supervisor: bool) -> AlarmRecord | Ambiguous | None:
    """Which alarm a user means by `!ok` or `!nej` without an id.

    A responder means the alarm they were paged for and have not declined, or were asked to take over, when there is
    exactly one. A supervisor with no such page means the one alarm still waiting for someone, when there is exactly
    one.
    """
    alarms = list(open_alarms)
    waiting = sorted((a for a in alarms if a.awaiting), key=lambda a: a.number)
    asked = [a for a in alarms if a.handoff_to == user]
    mine = sorted(asked + [a for a in waiting if user in a.paged and user not in a.declined and user not in a.holders
                           and a not in asked], key=lambda a: a.number)
    if not mine and is_supervisor:
        mine = waiting
    if not mine:
        return None
    if len(mine) == 1:
        return mine[0]
    return Ambiguous(tuple(mine))


def pick_refusal(result: Ambiguous | None, lang: str, command: str = "!ok") -> str:
    """The answer when `pick_alarm` found no alarm, or more than one, for a command sent without an id."""
    if isinstance(result, Ambiguous):
        return t("alarmcmd.ambiguous", lang, ids=listing(result.ids, lang), command=command, example=result.ids[0])
    return t("alarmcmd.none_open", lang, command=command)


# The police's case number (händelsenummer) in `!larm`: after a marker word anywhere in the text ("hnr 5000-K123-26",
# "HNR:5000-K123-26", "händelsenummer 5000-K123-26"), or without one as the text's last word when it has the police's
# own form: four digits (the region), K and up to eight digits, two of the year ("5000-K123456-26").
_CASE_MARKER = re.compile(r"(?:^|(?<=\s))(?:hnr|h[äa]ndelsen(?:umme)?r)\.?(?:\s*:\s*|\s+)"
                          r"([0-9A-Za-z][0-9A-Za-z/-]{2,39})[.,;]?(?=\s|$)", re.IGNORECASE)
_CASE_TRAILING = re.compile(r"(?:^|\s)(\d{4}-K\d{1,8}-\d{2})[.,;]?\s*$", re.IGNORECASE)


def split_case_number(text: str) -> tuple[str | None, str]:
    """'hnr 5000-K123456-26 två barn' → ('5000-K123456-26', 'två barn'); the text without it, as typed otherwise.

    The police give their case number with the alarm so that both sides' records can be matched. It is taken out of
    the free text (which only the paged read) and kept on its own, for the acceptor, the handover and the figures."""
    found = _CASE_MARKER.search(text) or _CASE_TRAILING.search(text)
    if found is None:
        return None, text
    rest = (text[:found.start()] + " " + text[found.end():]).strip()
    return found.group(1).upper(), re.sub(r"[ \t]{2,}", " ", rest).strip(" ,;")


def split_id(command: Command) -> tuple[str | None, str]:
    """'L42 sjuk' → ('L42', 'sjuk'); 'sjuk' → (None, 'sjuk'): the id may be left out."""
    if command.args and parse_alarm_id(command.args[0]):
        return command.args[0], command.rest.split(None, 1)[1] if len(command.args) > 1 else ""
    return None, command.rest


# A word meant as an alarm id: "L42x", "L-42", "#42" — or, where no free text follows, any short word starting
# with L ("Lx"). A reason such as "ledig" after !nej is free text, not an id.
_ID_WITH_DIGITS = re.compile(r"[lL#]\W*\d\S*")
_SHORT_L_WORD = re.compile(r"[lL]\S{0,5}")


def unreadable_id(command: Command, ctx: Context, free_text_follows: bool) -> list[Effect] | None:
    """A first word meant as an alarm id that is not one: answered, so that `!ok Lx` never accepts another alarm."""
    if not command.args or parse_alarm_id(command.args[0]):
        return None
    first = command.args[0]
    if not _ID_WITH_DIGITS.fullmatch(first) and (free_text_follows or not _SHORT_L_WORD.fullmatch(first)):
        return None
    return [Reply(t("alarmcmd.bad_id", ctx.lang, text=first, command=f"!{command.word}"), refusal=True)]


def accepts_by_reply(text: str) -> bool:
    return fold(text.strip()).rstrip(".!") in ACCEPT_WORDS


def accepts_by_reaction(key: str) -> bool:
    return key.startswith(ACCEPT_REACTIONS)


def _target(ctx: Context, sender: str, id_text: str | None, reply_to: str | None,
            word: str) -> AlarmRecord | list[Effect]:
    """The alarm a command means: by id, by the page it replies to, or the sender's only open alarm."""
    desk = ctx.services.alarms
    if id_text:
        wanted = parse_alarm_id(id_text)
        found = desk.get(wanted) if wanted else None
        if found is None:
            return [Reply(t("alarmcmd.no_such_alarm", ctx.lang, id=id_text), refusal=True)]
        return found
    if reply_to:
        paged = desk.paged_by(reply_to)
        if paged is not None:
            return paged
    picked = pick_alarm(desk.unfinished(), sender, Role.SUPERVISOR in ctx.roles)
    if picked is None or isinstance(picked, Ambiguous):
        return [Reply(pick_refusal(picked, ctx.lang, command=f"!{word}"), refusal=True)]
    return picked


def status_line(alarm: AlarmRecord, lang: str, seen: Mapping[str, datetime] | None = None,
                phases: Sequence[str] = ()) -> str:
    """One alarm; `seen`: who read their page and when ("Anna A (sedd 03:12)"); `phases`: those recorded after
    acceptance, so whoever asks sees how far the responder has come ("på väg, framme")."""
    zone = zone_named(alarm.tz)
    if alarm.status == "open":
        names = [t("alarmcmd.state.seen", lang, name=alarm.name_of(u), time=hhmm(seen[u], zone))
                 if seen and u in seen else alarm.name_of(u) for u in alarm.pending]
        state = t("alarmcmd.state.open", lang, names=listing(names, lang) or "—")
        if alarm.holders:
            state = t("alarmcmd.state.partial", lang, state=state, count=len(alarm.holders), needed=alarm.needed,
                      names=listing([alarm.name_of(u) for u in alarm.holders], lang))
    elif alarm.status == "exhausted":
        state = t("alarmcmd.state.exhausted", lang)
    elif alarm.status == "accepted":
        state = t("alarmcmd.state.accepted", lang, name=listing([alarm.name_of(u) for u in alarm.holders], lang)
                  or alarm.accepted_name or "",
                  time=hhmm(alarm.accepted_at or alarm.raised_at, zone))
    elif alarm.status == "cancelled":
        state = t("alarmcmd.state.cancelled", lang, time=hhmm(alarm.cancelled_at or alarm.raised_at, zone))
    else:
        state = t("alarmcmd.state.closed", lang, name=alarm.closed_name or alarm.closed_by or "",
                  time=hhmm(alarm.closed_at or alarm.raised_at, zone))
    if phases and (alarm.holders or alarm.status == "closed"):
        state = t("alarmcmd.state.with_phases", lang, state=state, phases=phase_names(phases, lang))
    return t("alarmcmd.status_line", lang, id=alarm.id, area=alarm.area_name, time=hhmm(alarm.raised_at, zone),
             state=state)


def status_text(shown: Sequence[AlarmRecord], lang: str,
                seen: Callable[[str], Mapping[str, datetime]] | None = None,
                phases: Callable[[str], Sequence[str]] | None = None) -> str:
    if not shown:
        return t("alarmcmd.status_none", lang)
    return "\n".join(status_line(a, lang, seen(a.id) if seen else None, phases(a.id) if phases else ())
                     for a in shown)


def _accept(ctx: Context, sender: str, target: AlarmRecord | list[Effect]) -> list[Effect]:
    if isinstance(target, list):
        return target
    return ctx.services.alarms.accept(target.id, sender, ctx.now, Role.SUPERVISOR in ctx.roles)


def register(registry: Registry, limits: AlarmLimits) -> None:
    # The alarm commands are never held back by the per-sender limit: !larm has its own, and an answer to a page
    # must always get through.
    @registry.command("larm", "alarm", roles=frozenset({Role.POLICE}), usage="alarmcmd.usage.larm",
                      police_room_only=True, limited=False)
    def larm(command: Command, ctx: Context) -> list[Effect]:
        if not command.args:
            return [Reply(t("alarmcmd.larm_needs_area", ctx.lang), refusal=True)]
        roster = ctx.services.roster
        found = roster.split_area(command.rest)
        area_id = found[0].id if found else None
        if not ctx.room_encrypted:
            return [Reply(t("alarmcmd.unencrypted", ctx.lang), refusal=True, area=area_id)]
        desk = ctx.services.alarms
        if found is None:
            first = command.args[0]
            suggestions = roster.suggest_areas(first)
            if suggestions:
                text = t("alarmcmd.unknown_area", ctx.lang, text=first, suggestions=either(suggestions, ctx.lang))
            else:
                names = sorted(a.name for a in roster.areas.values())
                shown = listing(names, ctx.lang) if len(names) <= 12 else ", ".join(names[:12]) + " …"
                text = t("alarmcmd.unknown_area_list", ctx.lang, text=first, areas=shown)
            return [Reply(text, refusal=True)]
        area, details = found
        case_number, details = split_case_number(details)
        same = desk.same_alarm(command.sender, area.id, details, case_number,
                               ctx.now - timedelta(seconds=limits.repeat_s))
        if same is not None:
            # Sent twice (a double tap, a resend when the answer was slow): the alarm stands, and it is this one.
            log.info("alarm from %s is %s again", command.sender, same.id)
            line = status_line(same, ctx.lang, phases=ctx.services.phases.recorded(same.id))
            return [Reply(t("alarmcmd.repeat", ctx.lang, line=line, id=same.id), alarm=same.id, area=area.id)]
        recent = desk.raised_since(command.sender, ctx.now - timedelta(seconds=limits.window_s))
        volume = recent + 1 if recent >= limits.count else None  # past the limit: paged all the same, supervisors told
        return desk.raise_alarm(area, details, command.room_id, command.event_id, command.sender, ctx.now,
                                case_number=case_number, volume=volume, window_s=limits.window_s)

    @registry.command("ok", "ack", roles=ALARM_ROLES, usage="alarmcmd.usage.ok", limited=False)
    def ok(command: Command, ctx: Context) -> list[Effect]:
        bad = unreadable_id(command, ctx, free_text_follows=False)
        if bad:
            return bad
        id_text, _ = split_id(command)
        return _accept(ctx, command.sender, _target(ctx, command.sender, id_text, command.reply_to, "ok"))

    @registry.passive("reaction", accepts_by_reaction, roles=ALARM_ROLES)
    @registry.passive("reply", accepts_by_reply, roles=ALARM_ROLES)
    def ok_by_reaction_or_reply(event: Passive, ctx: Context) -> list[Effect]:
        paged = ctx.services.alarms.paged_by(event.relates_to)
        if paged is None:
            return []  # a ✅ or an "ok" to something that is not a page: not meant for us
        return _accept(ctx, event.sender, paged)

    @registry.passive("edit", lambda _text: True)
    def edit_of_an_alarm(event: Passive, ctx: Context) -> list[Effect]:
        """An edit of the message that raised an alarm never raises another: the alarm stands, and how to cancel."""
        raised = ctx.services.alarms.raised_by_event(event.relates_to)
        if raised is None:
            return []  # not about an alarm: the runtime carries the edit out if it reads as a command
        return [SendRoom(event.room_id, t("alarmcmd.edit_stands", ctx.lang, id=raised.id, unit=raised.unit_name),
                         reply_to=event.relates_to, alarm=raised.id)]

    @registry.passive("redaction", lambda _text: True)
    def redaction_of_an_alarm(event: Passive, ctx: Context) -> list[Effect]:
        """Removing the message that raised an alarm does not cancel it (a removal is a gesture with many meanings;
        a cancellation must be said): the alarm stands, and the one who removed it learns how to cancel."""
        raised = ctx.services.alarms.raised_by_event(event.relates_to)
        if raised is None or raised.status in ("closed", "cancelled"):
            return []
        # It rings: whoever removed it may believe the alarm is gone while a social worker is on the way.
        text = t("alarmcmd.redacted_stands", ctx.lang, id=raised.id)
        who = Mention(event.sender, ctx.services.name_of(event.sender, event.room_id))
        return [SendRoom(event.room_id, text, mentions=(who,), alarm=raised.id)]

    @registry.command("nej", "decline", roles=ALARM_ROLES, usage="alarmcmd.usage.nej", limited=False)
    def nej(command: Command, ctx: Context) -> list[Effect]:
        bad = unreadable_id(command, ctx, free_text_follows=True)
        if bad:
            return bad
        id_text, reason = split_id(command)
        target = _target(ctx, command.sender, id_text, command.reply_to, "nej")
        if isinstance(target, list):
            return target
        return ctx.services.alarms.decline(target.id, command.sender, reason, ctx.now)

    @registry.command("klar", "close", roles=ALARM_ROLES, usage="alarmcmd.usage.klar", limited=False)
    def klar(command: Command, ctx: Context) -> list[Effect]:
        bad = unreadable_id(command, ctx, free_text_follows=True)
        if bad:
            return bad
        id_text, note = split_id(command)
        if id_text is None:
            id_text = ctx.services.phases.alarm_of_room(command.room_id)  # in an alarm room the id goes without saying
        target = _target(ctx, command.sender, id_text, command.reply_to, "klar")
        if isinstance(target, list):
            return target
        if command.sender in target.holders or Role.SUPERVISOR in ctx.roles:
            asked = closing_refusal(target, note, ctx)  # missing phases are asked for, not closed over in silence
            if asked:
                return asked
        return ctx.services.alarms.close(target.id, command.sender, note, ctx.now, Role.SUPERVISOR in ctx.roles)

    @registry.command("avbryt", "cancel", roles=frozenset({Role.POLICE, Role.SUPERVISOR}),
                      usage="alarmcmd.usage.avbryt", limited=False)
    def avbryt(command: Command, ctx: Context) -> list[Effect]:
        bad = unreadable_id(command, ctx, free_text_follows=True)
        if bad:
            return bad
        id_text, reason = split_id(command)
        if id_text is None:
            return [Reply(t("alarmcmd.cancel_needs_id", ctx.lang), refusal=True)]
        target = _target(ctx, command.sender, id_text, None, "avbryt")
        if isinstance(target, list):
            return target
        allowed = Role.SUPERVISOR in ctx.roles or target.raised_by == command.sender
        return ctx.services.alarms.cancel(target.id, command.sender, reason, ctx.now, allowed)

    @registry.command("status", "aktiva", "open", roles=ANY_ROLE, usage="alarmcmd.usage.status")
    def status(command: Command, ctx: Context) -> list[Effect]:
        bad = unreadable_id(command, ctx, free_text_follows=False)
        if bad:
            return bad
        id_text, _ = split_id(command)
        shown: Sequence[AlarmRecord]
        if id_text:
            target = _target(ctx, command.sender, id_text, None, "status")
            if isinstance(target, list):
                return target
            shown = [target]
        else:
            shown = ctx.services.alarms.unfinished()
        seen, phases = ctx.services.alarms.seen, ctx.services.phases.recorded
        if ctx.roles == frozenset({Role.POLICE}):
            # Police see the alarms of their own rooms only.
            shown = [a for a in shown if a.police_room == command.room_id]
            return [Reply(status_text(shown, ctx.lang, seen, phases))]
        # The handovers the district offices have not yet received (item 3 of issue 10).
        waiting = [] if id_text else waiting_lines(ctx.services.handovers.waiting(), ctx.lang)
        return [Reply("\n".join([status_text(shown, ctx.lang, seen, phases), *waiting]))]
