"""!litar / !trust: a supervisor confirms a person's changed cross-signing identity, so pages reach them again.

A changed identity is what a stolen password can make; the confirmation is meant to follow a phone call with the
person, which is why only supervisors may give it and why it is in the audit trail.
"""

from __future__ import annotations

from bot.core.effects import Effect, Reply
from bot.core.i18n import listing, t
from bot.core.roles import Role
from handlers.registry import Command, Context, Registry


def register(registry: Registry) -> None:
    @registry.command("litar", "trust", roles=frozenset({Role.SUPERVISOR}), usage="trust.usage")
    def litar(command: Command, ctx: Context) -> list[Effect]:
        desk = ctx.services.trust
        waiting = desk.changed_identities()
        if not command.args:
            if not waiting:
                return [Reply(t("trust.none_waiting", ctx.lang))]
            names = listing([f"{_name(ctx, u)} ({u})" for u in waiting], ctx.lang)
            return [Reply(t("trust.waiting", ctx.lang, names=names))]
        user = command.args[0]
        if len(command.args) > 1 or not user.startswith("@") or ":" not in user:
            return [Reply(t("trust.usage", ctx.lang), refusal=True)]
        if not desk.confirm_identity(user, command.sender):
            return [Reply(t("trust.not_waiting", ctx.lang, name=_name(ctx, user), user=user), refusal=True)]
        return [Reply(t("trust.confirmed", ctx.lang, name=_name(ctx, user), user=user))]


def _name(ctx: Context, user: str) -> str:
    return ctx.services.name_of(user)
