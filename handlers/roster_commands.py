"""!jour and !schema in chat: who is on call, and the roster as a table (texts and help in handlers.roster)."""

from __future__ import annotations

from handlers.effects import Effect, Reply
from handlers.registry import ANY_ROLE, Command, Context, Registry, Role
from handlers.roster import jour_reply, schema_reply


def register(registry: Registry) -> None:
    @registry.command("jour", "oncall", roles=ANY_ROLE, usage="roster.jour.usage")
    def jour(command: Command, ctx: Context) -> list[Effect]:
        services = ctx.services
        return [Reply(jour_reply(list(command.args), ctx.now, services.roster, services.overrides.active(), ctx.lang,
                                 services.checkins))]

    @registry.command("schema", "roster", roles=frozenset({Role.RESPONDER, Role.SUPERVISOR}),
                      usage="roster.schema.usage")
    def schema(command: Command, ctx: Context) -> list[Effect]:
        services = ctx.services
        text = schema_reply(list(command.args), ctx.now, services.roster, services.overrides.active(), ctx.lang)
        return [Reply(text)]
