"""The configuration `make run` writes: it loads, and it switches on what a newcomer should see."""

from __future__ import annotations

import socket
from datetime import time
from pathlib import Path

import pytest

from bot import config as config_module
from bot.cli.demo import DemoPorts, config_text, demo_members, example_rosters, unit_rooms
from bot.cli.demo_ha import INSTANCES, instance_ports
from bot.cli.ports import Listener
from bot.config.checks import checkin_problems
from rosters import load_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def roster():
    return load_dir(example_rosters(ROOT))


@pytest.fixture
def demo_config(tmp_path, roster):
    rooms = {"police": "!police:localhost"} | {uid: f"!{uid}:localhost" for uid in unit_rooms(roster)}
    path = tmp_path / "config.toml"
    path.write_text(config_text(ROOT, "http://127.0.0.1:8448", rooms))
    return config_module.load(path)


def test_every_district_office_gets_a_room_so_the_handover_has_somewhere_to_go(demo_config, roster):
    offices = {area.office_unit for area in roster.areas.values() if area.office_unit}
    assert offices == {"farsta", "skarholmen"}
    assert set(demo_config.units) == offices | {"socialjouren"}
    assert {uid: unit.room for uid, unit in demo_config.units.items()} == {
        "farsta": "!farsta:localhost", "skarholmen": "!skarholmen:localhost", "socialjouren": "!socialjouren:localhost"
    }


def test_socialjouren_nights_are_asked_to_check_in_at_a_shift_that_exists(demo_config, roster):
    assert checkin_problems(demo_config, roster) == []
    (checkin,) = demo_config.checkin
    assert (checkin.unit, checkin.roles, checkin.starts) == ("socialjouren", ["primary"], ["22:00"])
    night_starts = {r.begins for r in roster.units["socialjouren"].rotations if r.role == "primary"}
    assert time(22, 0) in night_starts


def test_browser_view_and_monitoring_on_loopback_and_sms_off(demo_config):
    assert demo_config.web.enabled and demo_config.web.host == "127.0.0.1"
    assert demo_config.monitoring.enabled and demo_config.monitoring.host == "127.0.0.1"
    assert demo_config.web.port != demo_config.monitoring.port
    assert not demo_config.sms.enabled
    assert demo_config.roles.police == ["@polis1:localhost"]
    assert demo_config.roles.police_rooms == ["!police:localhost"]
    assert demo_config.rosters_dir == example_rosters(ROOT).resolve()


def test_unit_rooms_invite_only_demo_accounts_who_work_there(roster):
    assert demo_members(roster, "socialjouren") == ["anna.a", "bertil.b", "chef.c"]
    assert demo_members(roster, "farsta") == ["anna.a", "bertil.b", "chef.c"]
    # Skärholmen's people are fictional without accounts: its room has the bot (and the supervisor who makes it).
    assert demo_members(roster, "skarholmen") == []


def test_make_run_takes_another_port_when_one_is_taken_and_its_banner_and_config_say_which(tmp_path, roster):
    from bot.cli.demo import MONITORING_PORT, WEB_PORT, DemoPorts, banner
    from bot.cli.devserver import Synapse
    from bot.cli.ports import listen_problems, port_or_free

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        other = port_or_free(taken)
        assert other != taken and listen_problems([Listener("", "127.0.0.1", other)], "") == []
    assert port_or_free(other) == other, "a free port is kept"

    ports = DemoPorts(web=other, monitoring=MONITORING_PORT)
    rooms = {"police": "!police:localhost"} | {uid: f"!{uid}:localhost" for uid in unit_rooms(roster)}
    path = tmp_path / "config.toml"
    path.write_text(config_text(ROOT, "http://127.0.0.1:8448", rooms, ports))
    config = config_module.load(path)
    assert (config.web.port, config.monitoring.port) == (other, MONITORING_PORT)
    server = Synapse(tmp_path, Path("python"), port=8448)
    shown = banner(server, dict.fromkeys(("polis1", "anna.a", "bertil.b", "chef.c", "jourbot"), "pw"),
                   unit_rooms(roster), ports)
    assert f"Browser view: http://127.0.0.1:{other}/ ({WEB_PORT} is taken by another program)" in shown
    assert f"Monitoring: http://127.0.0.1:{MONITORING_PORT}/healthz and /metrics\n" in shown


def test_run_ha_writes_two_instances_of_one_database_each_with_a_state_folder_and_ports_of_its_own(tmp_path, roster):
    rooms = {"police": "!police:localhost"} | {uid: f"!{uid}:localhost" for uid in unit_rooms(roster)}
    url = "postgresql://jourbot@127.0.0.1:5499/jourbot"
    loaded = []
    for name, ports in zip(INSTANCES, instance_ports(DemoPorts(), len(INSTANCES)), strict=True):
        path = tmp_path / f"config-{name}.toml"
        path.write_text(config_text(ROOT, "http://127.0.0.1:8448", rooms, ports, instance=name, database=url))
        loaded.append(config_module.load(path))
    assert {c.storage.database for c in loaded} == {url}
    assert len({c.storage.dir for c in loaded}) == 2
    ports = [p for c in loaded for p in (c.web.port, c.monitoring.port)]
    assert len(set(ports)) == 4 and ports[:2] == [8080, 9187]
    assert [c.roles.police_rooms for c in loaded] == [["!police:localhost"]] * 2


def test_make_run_stays_one_process_on_sqlite(demo_config):
    assert demo_config.storage.database == ""
    assert demo_config.storage.dir == "bot-state"
