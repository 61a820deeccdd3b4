"""!lämna (`!handoff`): an accepted alarm passes to the next shift, or to a named person, who takes it by accepting.

`!lämna L4` asks whoever is on call now for the alarm's area; `!lämna L4 @bertil.b:server` (also `till @…`) a named
person in the rosters. Without an id, the alarm room it is said in or the sender's one held alarm is meant. The holder
keeps the alarm, and its phases stay, until the new one has taken it; the police and the alarm room are told then.
"""

from __future__ import annotations

from bot.core.effects import Effect, Reply
from bot.core.i18n import t
from bot.core.roles import Role
from handlers.phases import alarm_for
from handlers.registry import Command, Context, Registry
from rosters.names import fold, is_matrix_user_id

HANDOFF_ROLES = frozenset({Role.RESPONDER, Role.SUPERVISOR})
_TO_WORDS = frozenset({"till", "to"})


def register(registry: Registry) -> None:
    @registry.command("lämna", "handoff", roles=HANDOFF_ROLES, usage="alarmcmd.usage.lamna", limited=False)
    def lamna(command: Command, ctx: Context) -> list[Effect]:
        alarm, words = alarm_for(command, ctx, command.args)
        if isinstance(alarm, list):
            return alarm
        words = tuple(w for w in words if fold(w) not in _TO_WORDS)
        to: str | None = None
        if words:
            to = words[0]
            if len(words) > 1 or not is_matrix_user_id(to) or to not in ctx.services.roster.people:
                return [Reply(t("alarmcmd.handoff_unknown_person", ctx.lang, user=" ".join(words)[:60], id=alarm.id),
                              refusal=True)]
        return ctx.services.alarms.handoff(alarm.id, command.sender, to, ctx.now, Role.SUPERVISOR in ctx.roles)
