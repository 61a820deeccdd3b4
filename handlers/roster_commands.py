"""!jour and !schema in chat: who is on call, and the roster as a table (texts in handlers.roster)."""

from __future__ import annotations

from handlers.i18n import catalog
from handlers.registry import ANY_ROLE, Command, Context, Effect, Registry, Reply, Role
from handlers.roster import jour_reply, schema_reply

TEXTS = catalog(
    {
        "rostercmd.usage.jour": (
            "!jour [område] [tid] — vem som har jour nu (eller vid en tid): hela kedjan",
            "!oncall [area] [time] — who is on call now (or at a time): the whole chain",
        ),
        "rostercmd.usage.schema": (
            "!schema [enhet] [dag|vecka|datum] — jourschemat som tabell",
            "!roster [unit] [day|week|date] — the roster as a table",
        ),
    }
)


def register(registry: Registry) -> None:
    @registry.command("jour", "oncall", roles=ANY_ROLE, usage="rostercmd.usage.jour")
    def jour(command: Command, ctx: Context) -> list[Effect]:
        services = ctx.services
        return [Reply(jour_reply(list(command.args), ctx.now, services.roster, services.alarms.overrides(), ctx.lang))]

    @registry.command("schema", "roster", roles=frozenset({Role.RESPONDER, Role.SUPERVISOR}),
                      usage="rostercmd.usage.schema")
    def schema(command: Command, ctx: Context) -> list[Effect]:
        services = ctx.services
        text = schema_reply(list(command.args), ctx.now, services.roster, services.alarms.overrides(), ctx.lang)
        return [Reply(text)]
