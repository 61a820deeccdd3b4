"""!larm, !ok, !nej, !klar, !status: parse and check, then let the alarm service carry out the lifecycle."""

from __future__ import annotations

from handlers.i18n import catalog, t
from handlers.registry import Command, Context, Effect, Registry, Reply, Role

TEXTS = catalog(
    {
        "alarmcmd.usage.larm": (
            "!larm <område> [fritext] — registrera ett larm och sök den som har jour (polisrum)",
            "!alarm <area> [free text] — raise an alarm and page whoever is on call (police room)",
        ),
        "alarmcmd.usage.ok": (
            "!ok [id] — ta larmet (eller ✅ på sökningen, eller svara \"ok\")",
            "!ack [id] — take the alarm (or ✅ on the page, or reply \"ok\")",
        ),
        "alarmcmd.usage.nej": ("!nej [id] [orsak] — avböj; larmet går vidare direkt",
                               "!decline [id] [reason] — decline; the alarm moves on at once"),
        "alarmcmd.usage.klar": ("!klar <id> [notering] — avsluta larmet", "!close <id> [note] — close the alarm"),
        "alarmcmd.usage.status": ("!status [id] — öppna larm och deras läge",
                                  "!status [id] — open alarms and their state"),
        "alarmcmd.larm_needs_area": (
            "Skriv vilket område: !larm <område> [fritext], t.ex. !larm Farsta två barn i lägenheten.",
            "Say which area: !alarm <area> [free text], e.g. !alarm Farsta two children in the flat.",
        ),
        "alarmcmd.unencrypted": (
            "Det här rummet är inte krypterat, så jag tar inte emot larm här. Använd det krypterade polisrummet.",
            "This room is not encrypted, so I do not take alarms here. Use the encrypted police room.",
        ),
    }
)

ALARM_ROLES = frozenset({Role.RESPONDER, Role.SUPERVISOR})


def _id_and_rest(command: Command) -> tuple[str | None, str]:
    """'L42 sjuk' → ('L42', 'sjuk'); 'sjuk' → (None, 'sjuk'): the id may be left out."""
    if command.args and command.args[0][:1] in "lL" and command.args[0][1:].isdigit():
        return command.args[0], command.rest.split(None, 1)[1] if len(command.args) > 1 else ""
    return None, command.rest


def register(registry: Registry) -> None:
    @registry.command("larm", "alarm", roles=frozenset({Role.POLICE}), usage="alarmcmd.usage.larm",
                      police_room_only=True)
    def larm(command: Command, ctx: Context) -> list[Effect]:
        if not ctx.room_encrypted:
            return [Reply(t("alarmcmd.unencrypted", ctx.lang))]
        if not command.args:
            return [Reply(t("alarmcmd.larm_needs_area", ctx.lang))]
        return list(ctx.services.alarms.raise_from(command, ctx))

    @registry.command("ok", "ack", roles=ALARM_ROLES, usage="alarmcmd.usage.ok")
    def ok(command: Command, ctx: Context) -> list[Effect]:
        alarm_id, _ = _id_and_rest(command)
        return list(ctx.services.alarms.accept(command, ctx, alarm_id))

    @registry.command("nej", "decline", roles=ALARM_ROLES, usage="alarmcmd.usage.nej")
    def nej(command: Command, ctx: Context) -> list[Effect]:
        alarm_id, reason = _id_and_rest(command)
        return list(ctx.services.alarms.decline(command, ctx, alarm_id, reason))

    @registry.command("klar", "close", roles=ALARM_ROLES, usage="alarmcmd.usage.klar")
    def klar(command: Command, ctx: Context) -> list[Effect]:
        alarm_id, note = _id_and_rest(command)
        return list(ctx.services.alarms.close(command, ctx, alarm_id, note))

    @registry.command("status", "aktiva", "open", roles=frozenset(Role), usage="alarmcmd.usage.status")
    def status(command: Command, ctx: Context) -> list[Effect]:
        alarm_id, _ = _id_and_rest(command)
        return list(ctx.services.alarms.status(command, ctx, alarm_id))
