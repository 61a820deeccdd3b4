"""The figures of bench/alarm_latency.py: each setting's samples summed up, the targets judged, the text printed."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from latency_rounds import PING_SETTLE_S, SETTLE_S, Sample
from plumbing import Target, ms, print_targets, summary

# An alarm is two hops (police → bot, bot → responder), each a plain message's worth: 2.0× is the physical limit, and
# the targets are 1.1× it at the median and 1.25× at p95. A hop into or out of a big police room costs the homeserver
# more than one in a 2-member room (every member's push rules, every member's sync), so there the limit is measured:
# the plain message in the big room plus the plain message, ÷ the plain message.
PAGE_MEDIAN, PAGE_P95 = 2.2, 2.5
BOT_COSTS_PLAIN = 0.10  # the plain message with the bot running, at most this much slower than without it

KINDS = (("alone", "plain message, no bot running"), ("plain", "plain message, bot running"),
         ("big", "plain message in the big room"), ("page", "!larm → responder has the page"),
         ("ok", "!ok → police have 'accepterat'"))


@dataclass
class Setting:
    name: str
    label: str
    setup: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {k: [] for k, _ in KINDS})
    warmups: list[Sample] = field(default_factory=list)


def milestone_medians(samples: list[Sample]) -> dict[str, float]:
    if not samples:
        return {}
    names: list[str] = []
    for sample in samples:
        names += [k for k in sample.milestones if k not in names]
    out = {name: ms(statistics.median(s.milestones[name] for s in samples if name in s.milestones))
           for name in names}
    out["the reader has the decrypted message"] = ms(statistics.median(s.total for s in samples))
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


def setting_figures(setting: Setting) -> dict[str, Any]:
    rows = {kind: summary([s.total for s in setting.samples[kind]]) if setting.samples[kind] else {}
            for kind, _ in KINDS}
    plain, alone, big = rows["plain"], rows["alone"], rows["big"]
    ratios: dict[str, float | None] = {}
    for at in ("median", "p95"):
        floor, hop = plain.get(f"{at}_ms"), big.get(f"{at}_ms")
        ratios[f"two_hop_limit_at_{at}"] = round((hop + floor) / floor, 2) if hop and floor else 2.0
    for kind in ("page", "ok"):
        for at in ("median", "p95"):
            mine, floor = rows[kind].get(f"{at}_ms"), plain.get(f"{at}_ms")
            ratios[f"{kind}_to_plain_at_{at}"] = round(mine / floor, 2) if mine and floor else None
    for at in ("median", "p95"):
        with_bot, without = plain.get(f"{at}_ms"), alone.get(f"{at}_ms")
        ratios[f"plain_with_bot_vs_without_at_{at}_pct"] = (
            round(100 * (with_bot / without - 1), 1) if with_bot and without else None)
    slowest = {kind: [{"total_ms": ms(s.total), "note": s.note,
                       "milestones_ms": {k: ms(v) for k, v in s.milestones.items()}}
                      for s in sorted(setting.samples[kind], key=lambda s: s.total, reverse=True)[:2]]
               for kind in ("alone", "plain", "page", "ok")}
    return {
        "name": setting.name, "label": setting.label, "setup": setting.setup, **rows, "ratios": ratios,
        "milestones_median_ms": {kind: milestone_medians(setting.samples[kind]) for kind, _ in KINDS},
        "samples_with_key_sharing": {kind: sum("megolm" in s.note for s in setting.samples[kind]) for kind, _ in KINDS},
        "slowest": slowest,
        "plain_beside_bot_work": sum("the bot had" in sample.note for sample in setting.samples["plain"]),
        "warmup": [{"kind": s.kind, "total_ms": ms(s.total), "note": s.note} for s in setting.warmups],
    }


def targets(settings: list[dict[str, Any]]) -> list[Target]:
    out: list[Target] = []
    for s in settings:
        r, label = s["ratios"], s["label"]
        for kind, what in (("page", "!larm → page"), ("ok", "!ok → police told")):
            for at, factor in (("median", PAGE_MEDIAN / 2), ("p95", PAGE_P95 / 2)):
                value, hops = r[f"{kind}_to_plain_at_{at}"], r[f"two_hop_limit_at_{at}"] or 2.0
                limit = round(factor * hops, 2)
                rule = f"≤ {limit:.2f} ×" + ("" if hops == 2.0 else f" ({factor:.2f} × the two hops' {hops:.2f} ×)")
                out.append(Target(f"{label}: {what} ÷ plain, {at}", value, rule,
                                  value is not None and value <= limit, "×"))
        for at, judged in (("median", True), ("p95", False)):
            value = r[f"plain_with_bot_vs_without_at_{at}_pct"]
            met = (value is not None and value <= 100 * BOT_COSTS_PLAIN) if judged else None
            out.append(Target(f"{label}: plain with the bot vs without, {at}", value,
                              f"≤ +{100 * BOT_COSTS_PLAIN:.0f} %" + ("" if judged else " (shown, not judged)"), met,
                              "%"))
    return out


def method(rounds: int, warmup: int, sync_timeout_s: int, trust: str, bot: str) -> dict[str, Any]:
    return {
        "rounds_per_setting": rounds, "warmup_rounds_per_setting": warmup,
        "order": "per setting, in turn: plain messages with the bot stopped, then the bot started and rounds of one"
                 " plain message and one alarm (page, then !ok), then the bot stopped; the rounds in two such blocks"
                 " between three of plain messages alone, each block after a start with its warm-up round",
        "settle_ms_before_each_sample": ms(SETTLE_S), "settle_ms_before_a_plain_message": ms(PING_SETTLE_S),
        "t0": "just before the first send (police's, or the responder's !ok)",
        "t1": "the reader's nio client hands the decrypted event to its callbacks",
        "p95": "linear interpolation between order statistics (statistics.quantiles, inclusive)",
        "milestones": "median of each step's time since t0, taken separately, so not exactly additive",
        "between_alarms": "after !ok both join the alarm room, the responder reports the phases there and closes"
                          " with !klar; the next round waits until the bot has left the room and its outbox is empty",
        "bot_sync_timeout_s": sync_timeout_s, "bot_trust": trust,
        "bot": "in a process of its own, as deployed" if bot == "own-process"
               else "on the clients' event loop, in their process",
    }


def print_text(figures: dict[str, Any]) -> None:
    env, m = figures["environment"], figures["method"]
    print(f"jourbot alarm latency: Python {env['python']}, matrix-nio {env['matrix_nio']}, Synapse {env['synapse']}"
          f" (SQLite, 127.0.0.1), {env['platform']}\ncode: {env['code']}\nload average (1, 5, 15 min) before"
          f" {env['load_average_before']}, after {env['load_average_after']}: other work on the machine skews figures")
    print(f"{m['rounds_per_setting']} rounds per setting after {m['warmup_rounds_per_setting']} warm-up rounds; "
          f"{m['order']}.\nt0 {m['t0']}; t1 when {m['t1'].removeprefix('the ')}; bot long-poll"
          f" {m['bot_sync_timeout_s']} s, trust {m['bot_trust']}, the bot {m.get('bot', '?')};"
          f" setup {figures.get('setup_s')} s, whole run {figures.get('total_s')} s")
    print("time in rounds (s): " + ", ".join(f"{k} {v}" for k, v in figures.get("round_seconds", {}).items()))
    for s in figures["settings"]:
        print(f"\n== {s['label']}" + (f" (set up: {s['setup']})" if s["setup"] else ""))
        print(f"{'':40}{'median':>10}{'p95':>10}{'mean':>10}{'min':>10}{'max':>10}{'n':>5}")
        for kind, label in KINDS:
            row = s[kind]
            if row:
                print(f"{label:40}" + "".join(f"{row[k]:>7.1f} ms" for k in ("median_ms", "p95_ms", "mean_ms",
                                                                             "min_ms", "max_ms")) + f"{row['n']:>5}")
        r = s["ratios"]
        print(f"page ÷ plain {r['page_to_plain_at_median']} × at the median, {r['page_to_plain_at_p95']} × at p95;"
              f" !ok → police ÷ plain {r['ok_to_plain_at_median']} ×, {r['ok_to_plain_at_p95']} ×; plain with the"
              f" bot vs without {r['plain_with_bot_vs_without_at_median_pct']} % at the median; two hops' limit"
              f" {r['two_hop_limit_at_median']} × at the median, {r['two_hop_limit_at_p95']} × at p95")
        for kind, title in (("alone", "plain message, no bot running"), ("plain", "plain message"),
                            ("big", "plain message in the big police room"),
                            ("page", "page"), ("ok", "!ok → police told")):
            steps = s["milestones_median_ms"][kind]
            if steps:
                print(f"  where the time goes, {title} (ms since t0, median of each step on its own):")
                for name, value in steps.items():
                    print(f"    {value:7.1f}  {name}")
        shared = s["samples_with_key_sharing"]
        if any(shared.values()):
            print(f"  counted samples that shared a megolm session first: {shared}")
        if s["plain"]:
            print(f"  plain messages while the bot had work under way: {s['plain_beside_bot_work']} of"
                  f" {s['plain'].get('n', 0)}")
        for kind in ("alone", "plain", "page", "ok"):
            for slow in s["slowest"].get(kind, []):
                print(f"  slowest {kind}: {slow['total_ms']:.1f} ms" + (f" [{slow['note']}]" if slow["note"] else ""))
        print("  warm-up (not counted): " + "; ".join(
            f"{w['kind']} {w['total_ms']:.1f} ms" + (f" ({w['note']})" if w["note"] else "") for w in s["warmup"]))
    print_targets([Target(**t) for t in figures["targets"]])
