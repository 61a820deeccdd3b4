"""`jourbot roster ready` says clearly what it needs before it asks the homeserver anything."""

from __future__ import annotations

from bot.cli.main import main
from tests.harness.botrunner import write_config


def test_before_the_bot_ever_logged_in_it_says_to_start_it_once(tmp_path, capsys):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"])
    assert main(["roster", "ready", "-c", str(path)]) == 1
    assert "the bot has not logged in yet" in capsys.readouterr().err


def test_a_period_of_no_days_is_refused(tmp_path, capsys):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"])
    assert main(["roster", "ready", "-c", str(path), "--days", "0"]) == 2
    assert "--days must be at least 1" in capsys.readouterr().err


def test_an_unreachable_homeserver_is_named_and_fails(tmp_path, capsys):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"])
    state = tmp_path / "bot" / "state"
    state.mkdir(exist_ok=True)  # write_config put the test identity there
    (state / "credentials.json").write_text(
        '{"homeserver": "http://127.0.0.1:9", "user_id": "@jourbot:localhost", "device_id": "D", "access_token": "t"}')
    assert main(["roster", "ready", "-c", str(path)]) == 1
    assert "could not ask the homeserver: the homeserver did not answer" in capsys.readouterr().err
