"""Statistics as server-rendered SVG: no script, no library, readable on a phone and printable.

Every chart is a list of labelled bars (or pairs of bars) drawn to scale, with the figure written beside each bar,
so the numbers can be read without a tooltip and by a screen reader (each bar has a <title>).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape

from bot.alarm.machine import Alarm
from bot.core.i18n import day_month, t

ROW = 26
LABEL_W = 130
BAR_W = 220


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[int, ...]  # one bar per series


def bars(rows: Sequence[Row], series: Sequence[str], title: str) -> str:
    """A horizontal bar chart; `series` names each value of a row (the legend)."""
    top = max((v for r in rows for v in r.values), default=0) or 1
    per_row = ROW * max(1, len(series)) // (1 if len(series) == 1 else 2) + 8
    height = 28 + per_row * max(1, len(rows)) + 20
    width = LABEL_W + BAR_W + 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="chart">', f'<title>{escape(title)}</title>']
    y = 28
    for row in rows:
        parts.append(f'<text x="0" y="{y + 14}" class="label">{escape(row.label)}</text>')
        bar_h = (per_row - 8) // max(1, len(row.values))
        for index, value in enumerate(row.values):
            w = BAR_W * value / top
            by = y + index * bar_h
            name = series[index] if index < len(series) else ""
            parts.append(f'<rect x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{bar_h - 3}" class="s{index}">'
                         f'<title>{escape(row.label)}: {escape(name)} {value}</title></rect>')
            parts.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{by + bar_h - 6}" class="value">{value}</text>')
        y += per_row
    legend_x = LABEL_W
    for index, name in enumerate(series):
        parts.append(f'<rect x="{legend_x}" y="6" width="12" height="12" class="s{index}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="16" class="legend">{escape(name)}</text>')
        legend_x += 16 + 8 * len(name) + 16
    parts.append("</svg>")
    return "".join(parts)


def per_area(alarms: Sequence[Alarm]) -> list[Row]:
    names = sorted({a.area_name for a in alarms})
    return [Row(n, (sum(a.area_name == n for a in alarms),
                    sum(a.area_name == n and a.accepted_at is not None for a in alarms))) for n in names]


def per_week(alarms: Sequence[Alarm], today: date, lang: str, weeks: int = 8) -> list[Row]:
    monday = today - timedelta(days=today.weekday())
    rows = []
    for back in range(weeks - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        count = sum(start <= a.raised_at.date() < start + timedelta(days=7) for a in alarms)
        rows.append(Row(t("webview.stats.week", lang, week=start.isocalendar().week, day=day_month(start, lang)),
                        (count,)))
    return rows


BUCKETS = ((60, "< 1 min"), (120, "1–2 min"), (300, "2–5 min"), (600, "5–10 min"), (math.inf, "> 10 min"))


def time_to_accept(alarms: Sequence[Alarm]) -> list[Row]:
    waits = [(a.accepted_at - a.raised_at).total_seconds() for a in alarms if a.accepted_at is not None]
    rows, low = [], 0.0
    for high, label in BUCKETS:
        rows.append(Row(label, (sum(low <= w < high for w in waits),)))
        low = high
    return rows


def in_period(alarms: Sequence[Alarm], start: datetime, end: datetime) -> list[Alarm]:
    return [a for a in alarms if start <= a.raised_at < end]
