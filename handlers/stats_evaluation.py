"""`!statistik`'s lines about what happened after acceptance: time to arrival, protection assessments the same
night and their decisions, the district offices' handovers, and which units answered."""

from __future__ import annotations

from bot.core.figures import Evaluation
from bot.core.i18n import duration, percent, t, tn
from bot.core.phases import DECISIONS


def _time(seconds: float | None, lang: str) -> str:
    return t("stats.no_value", lang) if seconds is None else duration(seconds, lang)


def evaluation_lines(evaluation: Evaluation, lang: str) -> list[str]:
    e = evaluation
    share = t("stats.no_value", lang) if not e.assessable else percent(e.assessed_same_night / e.assessable, lang)
    lines = [
        t("stats.arrival", lang, median=_time(e.arrival_median_s, lang), p90=_time(e.arrival_p90_s, lang),
          alarms=tn("count.alarms", e.arrival_n, lang)),
        t("stats.assessed", lang, share=share, made=e.assessed_same_night, accepted=e.assessable),
    ]
    if e.decisions:
        lines.append(t("stats.decisions", lang, decisions=", ".join(
            f"{t(f'handover.decision.{d}', lang)} {e.decisions[d]}" for d in DECISIONS if d in e.decisions)))
    if e.handovers:
        lines.append(t("stats.handovers", lang, count=e.handovers, received=e.received,
                       median=_time(e.received_median_s, lang)))
    if e.by_unit:
        lines.append(t("stats.by_unit", lang, units=", ".join(f"{name} {n}" for name, n in e.by_unit.items())))
    return lines
