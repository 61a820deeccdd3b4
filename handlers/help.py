"""!hjälp / !help: the commands this sender may use, in the configured language."""

from __future__ import annotations

from bot.core.effects import Effect, Reply
from bot.core.i18n import t
from handlers.registry import EVERYONE, Command, Context, Registry


def register(registry: Registry) -> None:
    @registry.command("hjälp", "help", roles=EVERYONE, usage="help.usage")
    def help_command(command: Command, ctx: Context) -> list[Effect]:
        lines = [t("help.header", ctx.lang)]
        for spec in registry.visible_to(ctx.roles):
            lines.append("• " + t(spec.usage_key, ctx.lang))
        if not ctx.roles:
            lines.append(t("help.no_role", ctx.lang))
        return [Reply("\n".join(lines))]
