"""!webb / !web: a short-lived, single-use link to the browser view, sent only in the encrypted direct room."""

from __future__ import annotations

from bot.core.effects import Effect, Reply, SendUser
from bot.core.i18n import t
from bot.core.roles import Role
from handlers.registry import Command, Context, Registry


def register(registry: Registry) -> None:
    @registry.command("webb", "web", roles=frozenset({Role.SUPERVISOR, Role.RESPONDER}), usage="webview.usage")
    def webb(command: Command, ctx: Context) -> list[Effect]:
        web = ctx.services.web
        if web is None:
            return [Reply(t("webview.off", ctx.lang))]
        link = web.issue(command.sender, ctx.now)
        # The link is a key to the view: it goes only to the person's own encrypted direct room, never a shared one.
        out: list[Effect] = [SendUser(command.sender, t("webview.link", ctx.lang, url=link, minutes=web.link_minutes))]
        if not web.is_direct_room(command.room_id, command.sender):
            # In a shared room, say whom: "Jag har skickat en länk" alone leaves everyone there wondering whose.
            name = ctx.services.name_of(command.sender, command.room_id)
            out.append(Reply(t("webview.sent", ctx.lang, name=name)))
        return out
