"""The systemd unit and the container image in bot/deploy/ start the bot with a command it accepts and let the service
manager tell a wrong configuration or a revoked session (no retry helps) from a crash (restart)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path

import pytest

from bot import config as config_module
from bot.cli.main import EXIT_CONFIG, EXIT_REVOKED, build_parser
from tests.harness.botrunner import REPO, TEST_DATA_KEY, TEST_PICKLE_KEY

DEPLOY = Path(__file__).resolve().parents[2] / "bot" / "deploy"


class _MultiDict(dict):  # type: ignore[type-arg]
    """configparser's option store: a key set again is added on a new line instead of replacing the first value."""

    def __setitem__(self, key: str, value: object) -> None:
        if isinstance(value, list) and key in self and isinstance(self[key], list):
            self[key].extend(value)
        else:
            super().__setitem__(key, value)


def unit() -> configparser.SectionProxy:
    # strict=False with a dict that joins repeats: a unit names LoadCredential= and SystemCallFilter= more than once.
    parser = configparser.ConfigParser(interpolation=None, strict=False, dict_type=_MultiDict)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "jourbot.service").read_text())
    return parser["Service"]


def test_the_systemd_unit_runs_the_bot_and_does_not_retry_what_a_retry_cannot_fix():
    service = unit()
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "jourbot"
    args = build_parser().parse_args(command[1:])
    assert args.command == "run" and args.config == Path("/etc/jourbot/config.toml")
    assert service["Restart"] == "on-failure"
    assert {int(c) for c in service["RestartPreventExitStatus"].split()} == {EXIT_CONFIG, EXIT_REVOKED}
    assert "-HUP" in service["ExecReload"], "systemctl reload re-reads the rosters (SIGHUP)"
    assert service["UMask"] == "0077", "the store and the keys the bot writes stay private"
    # Ready after the first sync, and restarted when the watchdog stops hearing from it (bot/watch/service_manager.py).
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main" and int(service["WatchdogSec"]) > 0


def _service_example() -> str:
    """The config.toml docs/operations.md gives for the unit: the first TOML block under "### systemd"."""
    text = (DEPLOY.parents[1] / "docs" / "operations.md").read_text()
    section = text[text.index("### systemd"):]
    return section[section.index("```toml") + len("```toml"):section.index("```", section.index("```toml") + 7)]


def test_the_documented_service_config_finds_the_units_credentials_and_state_directory(tmp_path, monkeypatch):
    service = unit()
    credentials = dict(line.split(":", 1) for line in _all(service, "LoadCredential"))
    assert set(credentials) == {"pickle-key", "data-key", "matrix-password"}
    assert all(Path(source).name == name for name, source in credentials.items()), (
        "named as the credentials, so CREDENTIALS_DIRECTORY=/etc/jourbot works for a rotation run by hand")
    state = Path("/var/lib") / service["StateDirectory"]
    assert service["WorkingDirectory"] == str(state) and service["StateDirectoryMode"] == "0700"

    path = tmp_path / "config.toml"
    path.write_text(_service_example().replace("/etc/jourbot/rosters", str(REPO / "rosters" / "examples")))
    # What systemd hands the service: each credential in a folder of its own, mode 0400.
    folder = tmp_path / "credentials"
    folder.mkdir()
    keys = {"pickle-key": TEST_PICKLE_KEY, "data-key": TEST_DATA_KEY, "matrix-password": "the password"}
    for name, value in keys.items():
        (folder / name).write_text(value + "\n")
        (folder / name).chmod(0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))
    monkeypatch.delenv("JOURBOT_PASSWORD", raising=False)
    config = config_module.load(path)
    assert config.state_dir == state
    assert (config.pickle_key(), config.data_key(), config.password()) == tuple(keys.values())

    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(config_module.ConfigError, match="CREDENTIALS_DIRECTORY in .* is not set .systemd sets it for"
                                                        " a unit with LoadCredential="):
        config_module.load(path)


def _all(section: configparser.SectionProxy, key: str) -> list[str]:
    """Every value of a key given more than once (configparser keeps them joined by newlines, see unit())."""
    return [v for v in section[key].splitlines() if v]


def test_the_container_image_runs_the_bot_with_the_mounted_config_and_installs_the_whole_package():
    lines = [ln for ln in (DEPLOY / "Containerfile").read_text().splitlines() if ln and not ln.startswith("#")]
    (entry,) = [json.loads(ln.removeprefix("ENTRYPOINT ")) for ln in lines if ln.startswith("ENTRYPOINT ")]
    assert entry[0] == "jourbot"
    args = build_parser().parse_args(entry[1:])
    assert args.command == "run" and args.config == Path("/etc/jourbot/config.toml")
    copied = {ln.split()[1] for ln in lines if ln.startswith("COPY ")}
    assert {"bot", "handlers", "rosters"} <= copied, "every package the installed bot imports"
    assert any(ln.startswith("USER ") and "root" not in ln for ln in lines), "the bot does not run as root"


def test_the_image_base_is_pinned_by_digest_and_the_context_leaves_keys_and_the_demo_behind():
    lines = [ln for ln in (DEPLOY / "Containerfile").read_text().splitlines() if ln and not ln.startswith("#")]
    (base,) = [ln.split()[1] for ln in lines if ln.startswith("FROM ")]
    assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", base), f"{base}: a tag moves; a digest does not"
    assert any(ln.startswith("HEALTHCHECK ") and "healthz" in "\n".join(lines) for ln in lines)
    ignored = (DEPLOY.parents[1] / ".dockerignore").read_text().splitlines()
    for needed in ("var/", ".venv/", ".synapse-venv/", "**/node_modules/", "*.key", "*.password", ".git"):
        assert needed in ignored, f".dockerignore lacks {needed}"
