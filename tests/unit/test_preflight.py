"""`jourbot run` refuses to start, with every reason at once, before it touches the homeserver."""

from __future__ import annotations

import socket

from bot import config as config_module
from bot.cli.main import main, preflight
from bot.cli.ports import free_port
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


def _listening() -> socket.socket:
    """A port another program holds: bound and listening, as a second bot or any server would."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def _listeners(tmp_path, monitoring_port: int, web_port: int):
    return write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                        extra=f"\n[monitoring]\nenabled = true\nport = {monitoring_port}\n"
                              f"\n[web]\nenabled = true\nport = {web_port}\n")


def test_a_monitoring_port_another_program_holds_stops_the_start_naming_port_and_key(tmp_path, capsys):
    with _listening() as held:
        port = held.getsockname()[1]
        path = _listeners(tmp_path, port, free_port())
        assert main(["run", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"[monitoring] cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert "set [monitoring] port" in err and str(path.resolve()) in err
    assert "[web]" not in err, "the browser view's port was free"


def test_the_web_port_taken_or_shared_with_monitoring_is_named_and_free_ports_pass(tmp_path):
    with _listening() as held:
        config = config_module.load(_listeners(tmp_path, free_port(), held.getsockname()[1]))
        (problem,) = preflight(config)
    assert f"[web] cannot listen on 127.0.0.1:{config.web.port}" in problem
    shared = free_port()
    config = config_module.load(_listeners(tmp_path, shared, shared))
    (problem,) = preflight(config)
    assert problem.startswith(f"{config.path}: [web] cannot listen on 127.0.0.1:{shared}")
    config = config_module.load(_listeners(tmp_path, *_two_free_ports()))
    assert preflight(config) == []


def _two_free_ports() -> tuple[int, int]:
    with _listening() as one, _listening() as other:  # both held while chosen, so the system gives two
        return one.getsockname()[1], other.getsockname()[1]
