"""The systemd unit and the container image in bot/deploy/ start the bot with a command it accepts and let the service
manager tell a wrong configuration or a revoked session (no retry helps) from a crash (restart)."""

from __future__ import annotations

import configparser
import json
import shlex
from pathlib import Path

from bot.cli.main import EXIT_CONFIG, EXIT_REVOKED, build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "bot" / "deploy"


def unit() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "jourbot.service").read_text())
    return parser["Service"]


def test_the_systemd_unit_runs_the_bot_and_does_not_retry_what_a_retry_cannot_fix():
    service = unit()
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "jourbot"
    args = build_parser().parse_args(command[1:])
    assert args.command == "run" and args.config == Path("/srv/jourbot/config.toml")
    assert service["Restart"] == "on-failure"
    assert {int(c) for c in service["RestartPreventExitStatus"].split()} == {EXIT_CONFIG, EXIT_REVOKED}
    assert "-HUP" in service["ExecReload"], "systemctl reload re-reads the rosters (SIGHUP)"
    assert service["UMask"] == "0077", "the store and the keys the bot writes stay private"
    assert service["ReadWritePaths"].startswith(service["WorkingDirectory"])
    # Ready after the first sync, and restarted when the watchdog stops hearing from it (bot/watch/service_manager.py).
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main" and int(service["WatchdogSec"]) > 0


def test_the_container_image_runs_the_bot_with_the_mounted_config_and_installs_the_whole_package():
    lines = [ln for ln in (DEPLOY / "Containerfile").read_text().splitlines() if ln and not ln.startswith("#")]
    (entry,) = [json.loads(ln.removeprefix("ENTRYPOINT ")) for ln in lines if ln.startswith("ENTRYPOINT ")]
    assert entry[0] == "jourbot"
    args = build_parser().parse_args(entry[1:])
    assert args.command == "run" and args.config == Path("/etc/jourbot/config.toml")
    copied = {ln.split()[1] for ln in lines if ln.startswith("COPY ")}
    assert {"bot", "handlers", "rosters"} <= copied, "every package the installed bot imports"
    assert any(ln.startswith("USER ") and "root" not in ln for ln in lines), "the bot does not run as root"
