"""!mottaget <id>: the district office confirms it has taken over an alarm handled while it was closed; and the
handovers still waiting, as `!status` shows them."""

from __future__ import annotations

from bot.core.desks import HandoverDesk, OpenHandover
from bot.core.effects import Effect, Reply
from bot.core.i18n import listing, t
from bot.core.ids import parse_alarm_id
from bot.core.roles import Role
from handlers.registry import Command, Context, Registry

RECEIVERS = frozenset({Role.RESPONDER, Role.SUPERVISOR})


def waiting_lines(handovers: list[OpenHandover], lang: str) -> list[str]:
    """`!status`'s lines for the handovers nobody has received yet (nothing when there are none)."""
    if not handovers:
        return []
    return [t("handover.status_header", lang)] + [
        t("handover.status_line", lang, id=h.alarm_id, area=h.area_name, unit=h.unit_name,
          time=f"{h.posted_at:%H:%M}")  # posted_at is in the office's zone already
        for h in handovers
    ]


def _mine(desk: HandoverDesk, user: str) -> list[OpenHandover]:
    return [h for h in desk.waiting() if desk.may_receive(h.unit, user)]


def register(registry: Registry) -> None:
    @registry.command("mottaget", "received", roles=RECEIVERS, usage="handover.usage")
    def mottaget(command: Command, ctx: Context) -> list[Effect]:
        desk = ctx.services.handovers
        if command.args:
            alarm = parse_alarm_id(command.args[0])
            if alarm is None:
                return [Reply(t("handover.bad_id", ctx.lang, text=command.args[0]), refusal=True)]
        else:
            mine = _mine(desk, command.sender)
            if len(mine) != 1:
                ids = listing([h.alarm_id for h in mine], ctx.lang)
                key = "handover.needs_id" if mine else "handover.none_waiting"
                return [Reply(t(key, ctx.lang, ids=ids, example=mine[0].alarm_id if mine else ""), refusal=True)]
            alarm = mine[0].alarm_id
        found = desk.handover(alarm)
        if found is None:
            return [Reply(t("handover.unknown", ctx.lang, id=alarm), refusal=True)]
        if found.received_at is None and not desk.may_receive(found.unit, command.sender):
            return [Reply(t("handover.not_your_unit", ctx.lang, id=alarm, unit=found.unit_name), refusal=True)]
        return desk.receive(alarm, command.sender, ctx.now)
