"""!statistik [period]: alarms, time to acceptance (median, 90th percentile), escalations, per area."""

from __future__ import annotations

from datetime import timedelta

from handlers.effects import Effect, Reply
from handlers.i18n import t
from handlers.registry import Command, Context, Registry, Role

PERIODS = {"dag": 1, "day": 1, "vecka": 7, "week": 7, "månad": 30, "manad": 30, "month": 30, "år": 365, "ar": 365,
           "year": 365}


def _duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return t("stats.no_value", lang)
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def register(registry: Registry) -> None:
    @registry.command("statistik", "stats", roles=frozenset({Role.SUPERVISOR}), usage="stats.usage")
    def statistik(command: Command, ctx: Context) -> list[Effect]:
        word = command.args[0].casefold() if command.args else "månad"
        days = PERIODS.get(word) or (int(word) if word.isdigit() and 0 < int(word) <= 3650 else None)
        if days is None:
            return [Reply(t("stats.bad_period", ctx.lang, text=command.args[0]))]
        start = ctx.now - timedelta(days=days)
        figures = ctx.services.alarms.figures(start, ctx.now)
        lines = [
            t("stats.summary", ctx.lang, period=t("stats.period.one", ctx.lang) if days == 1 else t(
                "stats.period.many", ctx.lang, days=days), count=figures.count, accepted=figures.accepted,
              closed=figures.closed, cancelled=figures.cancelled, median=_duration(figures.median_s, ctx.lang),
              p90=_duration(figures.p90_s, ctx.lang), escalated=figures.escalated,
              escalations=figures.escalations, fallbacks=figures.fallbacks)
        ]
        for area in sorted(figures.per_area.values(), key=lambda a: a.name):
            lines.append(t("stats.area", ctx.lang, name=area.name, count=area.count, accepted=area.accepted))
        return [Reply("\n".join(lines))]
