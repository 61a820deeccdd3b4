"""!statistik [period]: alarms, time to acceptance (median, 90th percentile), escalations, per area."""

from __future__ import annotations

from datetime import timedelta

from bot.core.effects import Effect, Reply
from bot.core.i18n import t, tn
from bot.core.roles import Role
from handlers.registry import Command, Context, Registry
from handlers.stats_evaluation import evaluation_lines

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
        area_words = command.args[1:]
        if days is None and ctx.services.roster.find_area(command.rest) is not None:
            days, area_words = PERIODS["månad"], command.args  # `!statistik Farsta`: the default period, one area
        if days is None:
            return [Reply(t("stats.bad_period", ctx.lang, text=command.args[0]))]
        area = ctx.services.roster.find_area(" ".join(area_words)) if area_words else None
        if area_words and area is None:
            return [Reply(t("stats.bad_area", ctx.lang, text=" ".join(area_words)), refusal=True)]
        start = ctx.now - timedelta(days=days)
        figures, evaluation = ctx.services.evaluation.evaluate(start, ctx.now, area.id if area else None)
        lang = ctx.lang
        lines = [
            t("stats.summary", lang, period=t("stats.period.one", lang) if days == 1 else t(
                "stats.period.many", lang, days=days), alarms=tn("count.alarms", figures.count, lang),
              accepted=tn("stats.accepted", figures.accepted, lang), closed=tn("stats.closed", figures.closed, lang),
              cancelled=tn("stats.cancelled", figures.cancelled, lang), median=_duration(figures.median_s, lang),
              p90=_duration(figures.p90_s, lang), escalated=tn("count.alarms", figures.escalated, lang),
              escalations=tn("stats.steps", figures.escalations, lang), fallbacks=figures.fallbacks)
        ]
        if figures.several:
            lines.append(t("stats.to_last", lang, alarms=tn("count.alarms", figures.several, lang),
                           median=_duration(figures.filled_median_s, lang), p90=_duration(figures.filled_p90_s, lang)))
        for entry in sorted(figures.per_area.values(), key=lambda a: a.name):
            lines.append(t("stats.area", lang, name=entry.name, alarms=tn("count.alarms", entry.count, lang),
                           accepted=tn("stats.accepted", entry.accepted, lang)))
        lines += evaluation_lines(evaluation, ctx.lang)
        return [Reply("\n".join(lines))]
