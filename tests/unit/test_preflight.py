"""`jourbot run` refuses to start, with every reason at once, before it touches the homeserver."""

from __future__ import annotations

from bot import config as config_module
from bot.cli.main import main, preflight
from tests.harness.botrunner import write_config


def test_missing_secrets_broken_rosters_and_no_first_password_are_all_named(tmp_path, capsys):
    rosters = tmp_path / "rosters"
    rosters.mkdir()
    (rosters / "broken.toml").write_text("this is = not [valid")
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "", ["!r:localhost"], ["@p:localhost"],
                        rosters=rosters)
    (tmp_path / "bot" / "data.key").unlink()
    problems = preflight(config_module.load(path))
    text = "\n".join(problems)
    assert "data.key" in text and "broken.toml" in text and "first start logs in with a password" in text
    assert main(["run", "-c", str(path)]) == 2
    assert "jourbot cannot start" in capsys.readouterr().err


def test_a_sound_configuration_passes(tmp_path):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"])
    assert preflight(config_module.load(path)) == []


def test_a_check_in_for_a_unit_the_rosters_do_not_have_is_named(tmp_path):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                        extra='\n[[checkin]]\nunit = "nattjouren"\n')
    (problem,) = preflight(config_module.load(path))
    assert "[[checkin]] unit = 'nattjouren' is no unit of the rosters" in problem and "socialjouren" in problem


def test_a_broken_roster_folder_stops_only_a_bot_that_never_had_a_good_roster(tmp_path, capsys):
    import shutil

    from bot.duty.live import digest, read_folder
    from bot.store import RosterSnapshot, Store
    from bot.store.secretbox import SecretBox
    from tests.harness.botrunner import REPO

    rosters = tmp_path / "rosters"
    shutil.copytree(REPO / "rosters" / "examples", rosters)
    (rosters / "farsta.toml").write_text("name = = 'Farsta'\n")
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                        rosters=rosters)
    config = config_module.load(path)
    (never,) = [p for p in preflight(config) if "cannot be used" in p]
    assert "no roster that worked before is kept in the bot's store" in never
    assert main(["run", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "farsta.toml: not valid TOML" in err and "Traceback" not in err

    good = read_folder(REPO / "rosters" / "examples")
    store = Store(config.state_dir / "jourbot.db", SecretBox(config.data_key()))
    with store.transaction():
        store.roster_snapshots.save(RosterSnapshot(digest(good), 0.0, str(rosters), good))
    store.close()
    assert preflight(config) == []
