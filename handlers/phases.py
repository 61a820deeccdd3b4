"""After acceptance: !påväg, !framme, !skydd, !överlämnad (the phases), !anslut (a supervisor joins the alarm room)
and !till (officer and acceptor write to each other through the bot when no alarm room could be made).

Phases are set by the acceptor or a supervisor, in the alarm room or in a direct room. Every argument is a number or
a word from a fixed list, so nothing typed freely is stored or reaches the police room with a phase.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.core.desks import AlarmRecord
from bot.core.effects import Effect, Reply, SendRoom, SendUser
from bot.core.i18n import listing, t
from bot.core.ids import parse_alarm_id
from bot.core.phases import PHASES
from bot.core.roles import Role
from handlers.registry import ANY_ROLE, Command, Context, Handler, Registry
from rosters import Roster
from rosters.names import fold

PHASE_ROLES = frozenset({Role.RESPONDER, Role.SUPERVISOR})
MAX_ETA_MINUTES = 600

# Words compared after folding case and diacritics ("anhörig" = "anhorig").
MADE_WORDS = frozenset({"gjord", "gjort", "klar", "ja", "done", "made", "yes"})
NOT_MADE_WORDS = frozenset({"ej", "inte", "nej", "ejgjord", "not", "no"})
DECISION_WORDS: dict[str, str] = {
    "plan": "safety_plan", "hemma": "safety_plan", "sakerhetsplan": "safety_plan", "home": "safety_plan",
    "safetyplan": "safety_plan",
    "anhorig": "relative", "anhoriga": "relative", "slakt": "relative", "narstaende": "relative",
    "relative": "relative",
    "placering": "emergency_placement", "placerad": "emergency_placement", "jourhem": "emergency_placement",
    "akut": "emergency_placement", "placement": "emergency_placement", "emergency": "emergency_placement",
    "annat": "other", "annan": "other", "other": "other",
}
# A supervisor closes an alarm with phases missing only when they say so.
ANYWAY_WORDS = frozenset({"anda", "anyway"})
PHASE_NAMES = {
    "en_route": "alarm.phase.name.en_route",
    "arrived": "alarm.phase.name.arrived",
    "assessment": "alarm.phase.name.assessment",
    "handed_over": "alarm.phase.name.handed_over",
}
_MINUTES = re.compile(r"(\d{1,4})\s*(?:m|min|minut|minuter|minute|minutes)?\.?", re.IGNORECASE)


def phase_names(phases: Sequence[str], lang: str) -> str:
    return listing([t(PHASE_NAMES[p], lang) for p in phases], lang)


def missing_phases(recorded: Sequence[str]) -> list[str]:
    return [p for p in PHASES if p not in recorded]


def parse_minutes(words: Sequence[str]) -> int | None | str:
    """'' → None (no estimate); '20', '20 min', '20min' → 20; anything else → "bad"."""
    if not words:
        return None
    match = _MINUTES.fullmatch(" ".join(words))
    if match is None or not 1 <= int(match.group(1)) <= MAX_ETA_MINUTES:
        return "bad"
    return int(match.group(1))


def parse_assessment(words: Sequence[str]) -> tuple[bool, str | None] | None:
    """'gjord anhörig' → (True, 'relative'); 'ej' → (False, None); anything else → None."""
    if not words or len(words) > 2:
        return None
    first = fold(words[0])
    if first not in MADE_WORDS | NOT_MADE_WORDS:
        return None
    decision = None
    if len(words) == 2:
        decision = DECISION_WORDS.get(fold(words[1]).replace("-", "").replace("_", ""))
        if decision is None:
            return None
    return first in MADE_WORDS, decision


def find_unit(roster: Roster, text: str) -> str | None:
    """The unit an alarm is handed over to: named by the unit's name or id, or by an area (its office unit)."""
    unit = roster.find_unit(text)
    if unit is not None:
        return unit.id
    area = roster.find_area(text)
    if area is not None:
        return area.office_unit or area.other_unit or None
    return None


def alarm_for(command: Command, ctx: Context, args: Sequence[str]) -> tuple[AlarmRecord | list[Effect],
                                                                             tuple[str, ...]]:
    """The alarm a phase command means, and the words after its id: the id typed, the alarm room it was said in, or
    the sender's one accepted alarm."""
    desk = ctx.services.alarms
    word = f"!{command.word}"
    if args and parse_alarm_id(args[0]):
        found = desk.get(parse_alarm_id(args[0]) or "")
        if found is None:
            return [Reply(t("alarmcmd.no_such_alarm", ctx.lang, id=args[0]), refusal=True)], ()
        return found, tuple(args[1:])
    in_room = ctx.services.phases.alarm_of_room(command.room_id)
    if in_room is not None:
        found = desk.get(in_room)
        if found is not None:
            return found, tuple(args)
    mine = sorted((a for a in desk.unfinished() if a.taken and command.sender in a.holders),
                  key=lambda a: a.number)
    if len(mine) == 1:
        return mine[0], tuple(args)
    if not mine:
        return [Reply(t("alarm.phase.none_accepted", ctx.lang, command=word), refusal=True)], ()
    ids = [a.id for a in mine]
    return [Reply(t("alarm.phase.ambiguous", ctx.lang, ids=listing(ids, ctx.lang), command=word, example=ids[0]),
                  refusal=True)], ()


def _may_set(alarm: AlarmRecord, command: Command, ctx: Context) -> list[Effect] | None:
    """A refusal, unless the sender may set this alarm's phases now."""
    if alarm.status in ("closed", "cancelled"):
        return [Reply(t("alarm.phase.finished", ctx.lang, id=alarm.id), refusal=True)]
    if not alarm.taken:
        return [Reply(t("alarm.phase.not_accepted", ctx.lang, id=alarm.id), refusal=True)]
    if command.sender not in alarm.holders and Role.SUPERVISOR not in ctx.roles:
        return [Reply(t("alarm.phase.not_yours", ctx.lang, id=alarm.id), refusal=True)]
    return None


def closing_refusal(alarm: AlarmRecord, note: str, ctx: Context) -> list[Effect] | None:
    """!klar on an accepted alarm with phases missing asks for them first; a supervisor may close anyway by adding
    "ändå" ("anyway")."""
    if not alarm.taken:
        return None
    missing = missing_phases(ctx.services.phases.recorded(alarm.id))
    if not missing:
        return None
    names = phase_names(missing, ctx.lang)
    if Role.SUPERVISOR in ctx.roles:
        first = fold(note.split()[0]) if note.split() else ""
        if first in ANYWAY_WORDS:
            return None
        return [Reply(t("alarm.phase.missing_supervisor", ctx.lang, id=alarm.id, missing=names), refusal=True)]
    return [Reply(t("alarm.phase.missing", ctx.lang, id=alarm.id, missing=names), refusal=True)]


def register(registry: Registry) -> None:
    def phase_command(name: str, *aliases: str, usage: str) -> Callable[[Handler], Handler]:
        return registry.command(name, *aliases, roles=PHASE_ROLES, usage=usage, limited=False)

    @phase_command("påväg", "enroute", "onmyway", usage="alarmcmd.usage.pavag")
    def pavag(command: Command, ctx: Context) -> list[Effect]:
        alarm, words = alarm_for(command, ctx, command.args)
        if isinstance(alarm, list):
            return alarm
        minutes = parse_minutes(words)
        if minutes == "bad":
            return [Reply(t("alarm.phase.bad_minutes", ctx.lang, command=f"!{command.word}",
                            most=MAX_ETA_MINUTES), refusal=True)]
        refused = _may_set(alarm, command, ctx)
        if refused:
            return refused
        eta = minutes if isinstance(minutes, int) else None
        return ctx.services.phases.record(alarm, command.sender, "en_route", ctx.now, eta_minutes=eta)

    @phase_command("framme", "arrived", usage="alarmcmd.usage.framme")
    def framme(command: Command, ctx: Context) -> list[Effect]:
        alarm, words = alarm_for(command, ctx, command.args)
        if isinstance(alarm, list):
            return alarm
        if words:
            return [Reply(t("alarm.phase.no_words", ctx.lang, command=f"!{command.word}"), refusal=True)]
        refused = _may_set(alarm, command, ctx)
        if refused:
            return refused
        return ctx.services.phases.record(alarm, command.sender, "arrived", ctx.now)

    @phase_command("skydd", "protection", "assessment", usage="alarmcmd.usage.skydd")
    def skydd(command: Command, ctx: Context) -> list[Effect]:
        alarm, words = alarm_for(command, ctx, command.args)
        if isinstance(alarm, list):
            return alarm
        parsed = parse_assessment(words)
        if parsed is None:
            return [Reply(t("alarm.phase.bad_assessment", ctx.lang, command=f"!{command.word}"), refusal=True)]
        refused = _may_set(alarm, command, ctx)
        if refused:
            return refused
        made, decision = parsed
        return ctx.services.phases.record(alarm, command.sender, "assessment", ctx.now, assessment_made=made,
                                          decision=decision)

    @phase_command("överlämnad", "overlamnat", "handedover", "handover", usage="alarmcmd.usage.overlamnad")
    def overlamnad(command: Command, ctx: Context) -> list[Effect]:
        alarm, words = alarm_for(command, ctx, command.args)
        if isinstance(alarm, list):
            return alarm
        roster = ctx.services.roster
        units = listing(sorted(u.name for u in roster.units.values()), ctx.lang)
        if not words:
            return [Reply(t("alarm.phase.needs_unit", ctx.lang, command=f"!{command.word}", units=units),
                          refusal=True)]
        unit = find_unit(roster, " ".join(words))
        if unit is None:
            return [Reply(t("alarm.phase.unknown_unit", ctx.lang, text=" ".join(words)[:40], units=units),
                          refusal=True)]
        refused = _may_set(alarm, command, ctx)
        if refused:
            return refused
        return ctx.services.phases.record(alarm, command.sender, "handed_over", ctx.now, unit=unit)

    @registry.command("anslut", "join", roles=frozenset({Role.SUPERVISOR}), usage="alarmcmd.usage.anslut",
                      limited=False)
    def anslut(command: Command, ctx: Context) -> list[Effect]:
        if len(command.args) != 1 or not parse_alarm_id(command.args[0]):
            return [Reply(t("alarm.room.join_needs_id", ctx.lang, command=f"!{command.word}"), refusal=True)]
        alarm = ctx.services.alarms.get(parse_alarm_id(command.args[0]) or "")
        if alarm is None:
            return [Reply(t("alarmcmd.no_such_alarm", ctx.lang, id=command.args[0]), refusal=True)]
        return ctx.services.phases.join(alarm, command.sender, command.event_id)

    @registry.command("till", "relay", roles=ANY_ROLE, usage="alarmcmd.usage.till", limited=False)
    def till(command: Command, ctx: Context) -> list[Effect]:
        """Only where the alarm room could not be made: the officer's words go to the acceptor's direct room, the
        acceptor's to the police room, each because its writer sent them there on purpose."""
        if len(command.args) < 2 or not parse_alarm_id(command.args[0]):
            return [Reply(t("alarm.relay.usage", ctx.lang, command=f"!{command.word}"), refusal=True)]
        alarm = ctx.services.alarms.get(parse_alarm_id(command.args[0]) or "")
        if alarm is None:
            return [Reply(t("alarmcmd.no_such_alarm", ctx.lang, id=command.args[0]), refusal=True)]
        if not alarm.taken:
            return [Reply(t("alarm.relay.not_open", ctx.lang, id=alarm.id), refusal=True)]
        if not ctx.services.phases.relaying(alarm.id):
            return [Reply(t("alarm.relay.use_room", ctx.lang, id=alarm.id), refusal=True)]
        text = command.rest.split(None, 1)[1]
        if command.sender == alarm.raised_by:
            line = t("alarm.relay.from_police", ctx.lang, id=alarm.id, text=text)
            return [*(SendUser(h, line, alarm=alarm.id) for h in alarm.holders), Reply(t("alarm.relay.sent", ctx.lang))]
        if command.sender in alarm.holders:
            name = alarm.name_of(command.sender)
            line = t("alarm.relay.from_responder", ctx.lang, id=alarm.id, name=name, text=text)
            return [SendRoom(alarm.police_room, line, alarm=alarm.id), Reply(t("alarm.relay.sent", ctx.lang))]
        return [Reply(t("alarm.relay.not_yours", ctx.lang, id=alarm.id), refusal=True)]
