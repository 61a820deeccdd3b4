"""bot/deploy/alerts.yml passes Prometheus' own checker, and each alert fires when it should, with the text an operator
reads, under `promtool test rules` (Debian's prometheus package; `make test` installs it). Which metrics the rules
read is held to the bot's /metrics in tests/component/test_metrics.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ALERTS = Path(__file__).resolve().parents[2] / "bot" / "deploy" / "alerts.yml"
PROMTOOL = os.environ.get("JOURBOT_PROMTOOL", "/usr/bin/promtool")
BOT = {"job": "jourbot", "instance": "bot:9187"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not (Path(PROMTOOL).exists() or shutil.which(PROMTOOL)):
        pytest.fail(f"promtool is not installed at {PROMTOOL}: run `make test` (it installs Debian's prometheus)")
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


def annotations(alert: str) -> dict[str, str]:
    """The rule's annotations as written, for alerts whose text has no template to fill."""
    rules = yaml.safe_load(ALERTS.read_text())
    (rule,) = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == alert]
    return dict(rule["annotations"])


def series(name: str, values: str) -> dict[str, str]:
    labels = ", ".join(f'{k}="{v}"' for k, v in BOT.items())
    return {"series": f"{name}{{{labels}}}", "values": values}


def fires(alert: str, at: str, severity: str, texts: dict[str, str] | None = None,
          labels: dict[str, str] | None = None) -> dict[str, object]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": [{
        "exp_labels": {**(BOT if labels is None else labels), "severity": severity},
        "exp_annotations": annotations(alert) if texts is None else texts}]}


def quiet(alert: str, at: str) -> dict[str, object]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": []}


def test_promtool_accepts_the_rules():
    done = promtool("check", "rules", str(ALERTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 7 rules found" in done.stdout


def test_each_alert_fires_when_it_should_and_not_before(tmp_path):
    minute = "1m"
    tests = [
        {  # A bot that stops answering, and one Prometheus has never seen.
            "interval": minute,
            "input_series": [series("up", "1 1 0 0 0 0 0")],
            "alert_rule_test": [quiet("JourbotDown", "3m"), fires("JourbotDown", "5m", "critical")],
        },
        {
            "interval": minute,
            "input_series": [],
            "alert_rule_test": [fires("JourbotDown", "3m", "critical", labels={"job": "jourbot"})],
        },
        {  # Two instances: the acting one stops acting (minute 1), the other takes over at minute 2; later neither.
            "interval": minute,
            "input_series": [{"series": 'jourbot_acting{job="jourbot", instance="a:9100"}', "values": "1 0 0 0 0 0 0"},
                             {"series": 'jourbot_acting{job="jourbot", instance="b:9100"}', "values": "0 0 1 1 0 0 0"}],
            "alert_rule_test": [quiet("JourbotNoInstanceActs", "2m"), quiet("JourbotNoInstanceActs", "4m"),
                                fires("JourbotNoInstanceActs", "6m", "critical", labels={"job": "jourbot"})],
        },
        {
            "interval": minute,
            "input_series": [
                series("up", "1x20"),
                # Unreachable from minute 2: an alert after two minutes of it, naming how long it has been silent.
                series("jourbot_homeserver_up", "1 1 0 0 0 0 0"),
                series("jourbot_homeserver_silent_seconds", "0 30 90 150 210 270 330"),
                # A page late at minute 2 and delivered by minute 3: the counter still raises the alert.
                series("jourbot_pages_overdue", "0 0 1 0 0 0 0"),
                series("jourbot_pages_late_total", "0 0 1 1 1 1 1"),
                # A gap ahead for 10 minutes is a warning; a blip is not.
                series("jourbot_roster_gaps_48h", "0 2 2 2 2 2 2 2 2 2 2 2 2"),
                series("jourbot_checkins_unanswered", "0 1 1 0"),
                series("jourbot_handovers_waiting", "2x20"),
                series("jourbot_handover_oldest_waiting_seconds", "28700 28800 28900"),
            ],
            "alert_rule_test": [
                quiet("JourbotHomeserverUnreachable", "3m"),
                fires("JourbotHomeserverUnreachable", "4m", "critical", {
                    "summary": "jourbot cannot reach its homeserver: pages wait",
                    "description": "The homeserver has not answered the bot for 3m 30s; pages are kept and sent when it"
                                   " answers again. /healthz names the reason; check the homeserver and the network"
                                   " between them."}),
                quiet("JourbotPageUndelivered", "1m"),
                fires("JourbotPageUndelivered", "3m", "critical"),
                quiet("JourbotRosterGap", "10m"),
                fires("JourbotRosterGap", "11m", "warning", {
                    "summary": "an area has nobody on call within the next 48 hours",
                    "description": "2 stretch(es) without a primary on call start within 48 hours. `jourbot roster"
                                   " check` names the areas and times; fill them in the rosters or with an override"
                                   " (`!byt`)."}),
                fires("JourbotCheckinUnanswered", "1m", "warning", {
                    "summary": "someone on call has not answered their shift check-in",
                    "description": "1 check-in(s) of running shifts were not answered in time; the unit's supervisors"
                                   " have been told in chat. `!jour` shows whose."}),
                quiet("JourbotCheckinUnanswered", "3m"),
                quiet("JourbotHandoverWaiting", "1m"),
                fires("JourbotHandoverWaiting", "2m", "warning", {
                    "summary": "an alarm handed over to a district office has not been received",
                    "description": "The oldest of 2 handover(s) has waited 8h 1m 40s for !mottaget in the office's"
                                   " room."}),
            ],
        },
    ]
    test_file = tmp_path / "alerts_test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(ALERTS)], "evaluation_interval": minute,
                                         "tests": tests}, allow_unicode=True, sort_keys=False))
    done = promtool("test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr
