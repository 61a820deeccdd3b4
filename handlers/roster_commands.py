"""!jour and !schema in chat: who is on call, and the roster as a table (texts and help in handlers.roster)."""

from __future__ import annotations

from bot.core.effects import Effect, Reply
from bot.core.roles import Role
from handlers.registry import ANY_ROLE, Command, Context, Registry
from handlers.roster import jour_reply, schema_reply


def register(registry: Registry) -> None:
    @registry.command("jour", "oncall", roles=ANY_ROLE, usage="roster.jour.usage")
    def jour(command: Command, ctx: Context) -> list[Effect]:
        services = ctx.services
        # Check-ins are the unit's own business: responders and supervisors see them, the police the chain only.
        checkins = services.checkins if ctx.roles & {Role.RESPONDER, Role.SUPERVISOR} else None
        return [Reply(jour_reply(list(command.args), ctx.now, services.roster, services.overrides.active(), ctx.lang,
                                 checkins))]

    @registry.command("schema", "roster", roles=frozenset({Role.RESPONDER, Role.SUPERVISOR}),
                      usage="roster.schema.usage")
    def schema(command: Command, ctx: Context) -> list[Effect]:
        services = ctx.services
        shown = schema_reply(list(command.args), ctx.now, services.roster, services.overrides.active(), ctx.lang,
                             command.sender)
        return [Reply(shown.text, html=shown.html)]
