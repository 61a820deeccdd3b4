"""The [sms] section: credentials from the environment or files only the bot's user can read, checked before start."""

from __future__ import annotations

import os

from bot import config as config_module
from bot.cli.main import preflight
from tests.harness.botrunner import write_config
from tests.harness.sms import sms_section


def test_sms_credentials_come_from_0600_files_and_a_readable_file_is_refused_before_start(tmp_path):
    config_dir = tmp_path / "bot"
    path = write_config(config_dir, "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                        extra=sms_section(config_dir, "http://127.0.0.1:9/a1/sms"))
    config = config_module.load(path)
    assert config.sms_credentials() == ("u-jourbot", "p-secret") and preflight(config) == []
    os.chmod(config_dir / "sms.password", 0o644)
    problems = preflight(config)
    assert len(problems) == 1 and "sms.password must be readable by the bot's user only (chmod 600)" in problems[0]


def test_sms_enabled_without_credentials_or_with_a_bad_url_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("JOURBOT_SMS_USERNAME", raising=False)
    monkeypatch.delenv("JOURBOT_SMS_PASSWORD", raising=False)
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                        extra="\n[sms]\nenabled = true\n")
    problems = preflight(config_module.load(path))
    assert problems == [f"{path.resolve()}: [sms] is enabled but has no credentials: set JOURBOT_SMS_USERNAME and"
                        " JOURBOT_SMS_PASSWORD, or username_file and password_file"]
    monkeypatch.setenv("JOURBOT_SMS_USERNAME", "u")
    monkeypatch.setenv("JOURBOT_SMS_PASSWORD", "p")
    assert config_module.load(path).sms_credentials() == ("u", "p")
    bad = write_config(tmp_path / "bad", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                       extra='\n[sms]\nenabled = true\nurl = "api.46elks.com"\n')
    try:
        config_module.load(bad)
    except config_module.ConfigError as err:
        assert "[sms] url: expected a URL" in str(err)
    else:
        raise AssertionError("a URL without its scheme was accepted")
