"""/metrics of a whole App: the process figures, the duty gauges, and that the alert rules and the Grafana dashboard in
bot/deploy/ name only metrics the bot serves (a renamed metric would leave an alert that never fires)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.component import POLICE, ROSTERS, ComponentBot

DEPLOY = Path(__file__).resolve().parents[2] / "bot" / "deploy"
MONITORING = "\n[monitoring]\nenabled = true\nport = 0\n"
# Series Prometheus makes itself, not the bot.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                "offset", "le", "inf", "nan"}


async def scrape(bot: ComponentBot) -> str:
    assert bot.app.monitoring is not None and bot.app.monitoring.bound_port
    url = f"http://127.0.0.1:{bot.app.monitoring.bound_port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()


# The series a family without samples yet will have (a labelled counter before its first count).
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def series(text: str) -> dict[str, float]:
    """Every sample without labels → its value, and every series name (labelled ones too) → its first value; a
    family served without samples yet (its # TYPE line alone) → NaN."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels or sample.name not in found:
                found[sample.name] = sample.value
        if not family.samples:
            found.update({family.name + suffix: float("nan") for suffix in SUFFIXES.get(family.type, ("",))})
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: no function, keyword, label matcher, range or string."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    return {n for n in names if n.lower() not in PROMQL_WORDS and not n.startswith("$")}


async def served_names(tmp_path: Path) -> set[str]:
    """The series of a bot that has raised an alarm (so the per-event counters have samples) and sent an SMS-less
    page: what Prometheus would see."""
    bot = await ComponentBot.start(tmp_path, extra=MONITORING)
    try:
        await bot.say(POLICE, "!larm Farsta")
        return set(series(await scrape(bot))) | PROMETHEUS_OWN
    finally:
        await bot.stop()


async def test_metrics_serve_the_process_and_the_duty_as_the_bot_sees_it(tmp_path):
    bot = await ComponentBot.start(tmp_path, extra=MONITORING)
    try:
        found = series(await scrape(bot))
        assert found["process_resident_memory_bytes"] > 0 and found["process_open_fds"] > 0
        assert "python_info" in found and "python_gc_collections_total" in found
        assert found["jourbot_homeserver_up"] == 1 and found["jourbot_homeserver_silent_seconds"] >= 0
        # The test rosters leave Tomby without anyone on purpose: one gap, the whole 48 hours.
        assert found["jourbot_roster_gaps_48h"] == 1 and found["jourbot_roster_gap_seconds_48h"] == 48 * 3600
        for name in ("jourbot_checkins_unanswered", "jourbot_handovers_waiting",
                     "jourbot_pages_overdue", "jourbot_pages_late_total", "jourbot_readiness_problems"):
            assert found[name] == 0, name
        bot.matrix.health.homeserver = "unreachable"
        assert series(await scrape(bot))["jourbot_homeserver_up"] == 0
    finally:
        await bot.stop()


async def test_roster_gaps_ahead_are_counted_and_a_reload_that_fills_them_shows_at_once(tmp_path):
    rosters = tmp_path / "rosters"
    shutil.copytree(ROSTERS, rosters)
    unit = rosters / "testjour.toml"
    full = unit.read_text()
    # Anna on days only: Farsta (answered by Testjouren) has nobody from 22:00 to 08:00.
    unit.write_text(full.replace('shift = "08:00-08:00"', 'shift = "08:00-22:00"', 1))
    bot = await ComponentBot.start(tmp_path, rosters=rosters)
    try:
        # From 14:02 on: tonight's and tomorrow night's 22:00–08:00 in Farsta, beside Tomby's 48 hours (the test
        # rosters leave Tomby without anyone on purpose).
        assert bot.metric("jourbot_roster_gaps_48h") == 1 + 2
        assert bot.metric("jourbot_roster_gap_seconds_48h") == 48 * 3600 + 2 * 10 * 3600
        unit.write_text(full)
        candidate = await bot.app.reload_rosters("test")
        assert candidate is not None and candidate.accepted
        assert bot.metric("jourbot_roster_gaps_48h") == 1, "the nights are filled: not a minute-old count"
    finally:
        await bot.stop()


async def test_every_alert_rule_reads_metrics_the_bot_serves(tmp_path):
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    exprs = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    assert set(exprs) == {"JourbotDown", "JourbotHomeserverUnreachable", "JourbotPageUndelivered",
                          "JourbotRosterGap", "JourbotCheckinUnanswered", "JourbotHandoverWaiting",
                          "JourbotNoInstanceActs"}
    served = await served_names(tmp_path)
    unknown = {alert: metric_names(expr) - served for alert, expr in exprs.items()}
    assert all(metric_names(expr) for expr in exprs.values()), "each rule reads some metric"
    assert {alert: names for alert, names in unknown.items() if names} == {}


async def test_the_dashboard_reads_only_metrics_the_bot_serves(tmp_path):
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"]), "panel ids are unique"
    assert all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in panels), "the data source is asked at import"
    served = await served_names(tmp_path)
    read = set().union(*(metric_names(expr) for expr in exprs))
    assert read - served == set()
    # The duty gauges and the process are all on it.
    assert {"jourbot_roster_gaps_48h", "jourbot_readiness_problems", "jourbot_checkins_unanswered",
            "jourbot_handovers_waiting", "jourbot_pages_overdue", "jourbot_homeserver_up",
            "process_resident_memory_bytes"} <= read


def test_the_metric_name_reader_sees_what_a_rule_reads():
    """The check above is only as good as this reader: it must not take a function, label or keyword for a metric."""
    assert metric_names('up{job="jourbot"} == 0 or absent(up{job="jourbot"})') == {"up"}
    assert metric_names("histogram_quantile(0.9, sum by (le) (rate(jourbot_x_bucket[1h])))") == {"jourbot_x_bucket"}
    assert metric_names("jourbot_a > 8 * 3600 unless on(instance) jourbot_b") == {"jourbot_a", "jourbot_b"}
