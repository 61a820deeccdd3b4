"""`make run`: a throwaway homeserver with demo accounts, the example rosters and the bot, all on 127.0.0.1.

Running it again reuses the server, accounts, rooms and the bot's device under var/demo; Ctrl-C stops bot and server.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import config as config_module
from bot.app import App
from bot.cli.devserver import SERVER_NAME, Synapse, synapse_python
from bot.cli.ports import free_port, port_or_free
from bot.logsetup import setup_logging
from bot.store.files import write_private
from rosters import Roster, load_dir

# The ports the demo asks for first (the defaults of [web] and [monitoring]), on 127.0.0.1 only; when another program
# holds one, the demo takes a free port instead and the banner says which.
WEB_PORT = 8080  # the browser view
MONITORING_PORT = 9187  # /healthz and /metrics

# Fictional people; the example rosters put them on call for Farsta at every hour.
DEMO_ACCOUNTS = {
    "polis1": "police officer (polis)",
    "anna.a": "responder (socialsekreterare)",
    "bertil.b": "responder (socialsekreterare)",
    "chef.c": "supervisor (jourchef)",
    "jourbot": "the bot",
}


def _api(url: str, token: str | None, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as resp:
        return dict(json.load(resp))


def login_token(url: str, user: str, password: str) -> str:
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password}
    return str(_api(url, None, "POST", "/_matrix/client/v3/login", body)["access_token"])


def create_encrypted_room(url: str, token: str, name: str, invite: list[str]) -> str:
    body = {
        "name": name,
        "preset": "private_chat",
        "invite": invite,
        "initial_state": [
            {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
        ],
    }
    return str(_api(url, token, "POST", "/_matrix/client/v3/createRoom", body)["room_id"])


def join(url: str, token: str, room_id: str) -> None:
    _api(url, token, "POST", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/join", {})


def _secret_file(path: Path) -> str:
    if not path.exists():
        write_private(path, secrets.token_urlsafe(24))
    return path.read_text().strip()


def example_rosters(root: Path) -> Path:
    return root / "rosters" / "examples"


def unit_rooms(roster: Roster) -> dict[str, str]:
    """The units that get a room in the demo (unit id → room name): Socialjouren, where alarms are announced, and
    every district office, where the handover is listed at its next opening."""
    offices = sorted({area.office_unit for area in roster.areas.values() if area.office_unit})
    return {uid: f"{roster.units[uid].name} (demo)" for uid in ("socialjouren", *offices) if uid in roster.units}


def demo_members(roster: Roster, unit_id: str) -> list[str]:
    """Localparts of the demo accounts who work in a unit; the example rosters' other people have no account."""
    unit = roster.units[unit_id]
    users = {*unit.supervisors, *unit.members}
    return [lp for lp in DEMO_ACCOUNTS if lp != "jourbot" and f"@{lp}:{SERVER_NAME}" in users]


@dataclass(frozen=True)
class DemoPorts:
    web: int = WEB_PORT
    monitoring: int = MONITORING_PORT


def pick_ports() -> DemoPorts:
    """The usual ports where free, others where not; each run anew, since what holds a port changes between runs."""
    web = port_or_free(WEB_PORT)
    monitoring = port_or_free(MONITORING_PORT)
    while monitoring == web:  # a free port the system chose for one may be the other's usual one
        monitoring = free_port()
    return DemoPorts(web, monitoring)


def config_text(root: Path, homeserver: str, rooms: dict[str, str], ports: DemoPorts = DemoPorts(),
                instance: str = "", database: str = "") -> str:
    """config.toml of the demo: every feature on except SMS (a paid service; config.example.toml shows it).

    `instance` and `database`: one of `make run-ha`'s instances (bot/cli/demo_ha.py), with a state folder of its own
    and the PostgreSQL database they share; `make run`'s one process keeps SQLite in its state folder."""
    bot = f"@jourbot:{SERVER_NAME}"
    storage = f'dir = "bot-state-{instance}"\ndatabase = "{database}"' if instance else 'dir = "bot-state"'
    roster = load_dir(example_rosters(root))
    units = "".join(f'\n[units.{uid}]\nroom = "{rooms[uid]}"\n' for uid in unit_rooms(roster))
    return f"""# Written by `make run{'-ha' if instance else ''}`; see config.example.toml for every key.
rosters = "{example_rosters(root)}"

[matrix]
homeserver = "{homeserver}"
user_id = "{bot}"
password_file = "jourbot.password"

[storage]
{storage}
pickle_key_file = "pickle.key"
data_key_file = "data.key"

[bot]
language = "sv"
allowed_inviters = [":{SERVER_NAME}"]

[roles]
police = ["@polis1:{SERVER_NAME}"]
police_rooms = ["{rooms['police']}"]
{units}
# The person on Socialjouren's night shift is asked to check in at 22:00.
[[checkin]]
unit = "socialjouren"
roles = ["primary"]
starts = ["22:00"]
answer_within_min = 30

[web]
enabled = true
host = "127.0.0.1"
port = {ports.web}

[monitoring]
enabled = true
host = "127.0.0.1"
port = {ports.monitoring}

[sms]
enabled = false
"""


def prepare(root: Path, workdir: Path, server: Synapse, ports: DemoPorts) -> tuple[Path, dict[str, str]]:
    """Accounts, rooms and config.toml for the demo; idempotent, and a demo made by an older version gains the rooms
    it lacks."""
    rooms, passwords = prepare_accounts(root, workdir, server)
    config_path = workdir / "config.toml"
    write_private(config_path, config_text(root, server.url, rooms, ports))
    return config_path, passwords


def prepare_accounts(root: Path, workdir: Path, server: Synapse) -> tuple[dict[str, str], dict[str, str]]:
    """The demo accounts, their rooms, the bot's password and keys in `workdir`: the rooms (unit id or "police" →
    room id) and the passwords."""
    passwords_path = workdir / "passwords.json"
    passwords: dict[str, str] = json.loads(passwords_path.read_text()) if passwords_path.exists() else {}
    for localpart in DEMO_ACCOUNTS:
        passwords.setdefault(localpart, secrets.token_urlsafe(9))
        server.register(localpart, passwords[localpart], admin=localpart == "chef.c")
    write_private(passwords_path, json.dumps(passwords, indent=1))
    write_private(workdir / "jourbot.password", passwords["jourbot"])

    rooms_path = workdir / "rooms.json"
    rooms: dict[str, str] = json.loads(rooms_path.read_text()) if rooms_path.exists() else {}
    bot = f"@jourbot:{SERVER_NAME}"
    if "police" not in rooms:
        token = login_token(server.url, "polis1", passwords["polis1"])
        rooms["police"] = create_encrypted_room(server.url, token, "Polis — larm (demo)", [bot])
    roster = load_dir(example_rosters(root))
    for uid, name in unit_rooms(roster).items():
        if uid in rooms:
            continue
        # The supervisor sets up each unit's room and invites the bot and the unit's demo people.
        members = [lp for lp in demo_members(roster, uid) if lp != "chef.c"]
        token = login_token(server.url, "chef.c", passwords["chef.c"])
        invite = [bot, *(f"@{lp}:{SERVER_NAME}" for lp in members)]
        rooms[uid] = create_encrypted_room(server.url, token, name, invite)
        for member in members:
            join(server.url, login_token(server.url, member, passwords[member]), rooms[uid])
    write_private(rooms_path, json.dumps(rooms, indent=1))

    _secret_file(workdir / "pickle.key")
    _secret_file(workdir / "data.key")
    return rooms, passwords


def banner(server: Synapse, passwords: dict[str, str], rooms: dict[str, str], ports: DemoPorts) -> str:
    """What a newcomer can try, by role; `rooms` maps unit ids to the names of their demo rooms."""
    lines = [
        "",
        "jourbot demo is running. Log in with any Matrix client (Element Web/Desktop, Fractal, …):",
        f"  homeserver: {server.url}",
        "",
    ]
    for localpart, role in DEMO_ACCOUNTS.items():
        lines.append(f"  {'@' + localpart + ':' + SERVER_NAME:<20} password {passwords[localpart]:<14} {role}")
    lines += ["", "Rooms (the bot is in each):", f"  {'Polis — larm (demo)':<39} the police raise alarms here"]
    for uid, name in rooms.items():
        what = "its alarms are announced here" + ("" if uid == "socialjouren" else "; the handover at its opening")
        lines.append(f"  {name:<39} {what}")
    lines += [
        "",
        "Try (the commands have English aliases too; !hjälp lists what you may do):",
        "  @polis1 in the police room:  !jour Farsta   then   !larm Farsta två barn i lägenheten",
        "  the responder paged gets a direct room from the bot; accept with  !ok  (or ✅ on the page)",
        "  then in the alarm room the bot opens ('L1 Farsta 14:02', with @polis1):",
        "    !påväg 20   !framme   !skydd gjord plan   !överlämnad Farsta   !klar",
        "  @chef.c:  !status   !schema socialjouren   !anslut L1   !byt lista   !statistik",
        "  the office room at its next opening:  !mottaget L1",
        "  Socialjouren's night primary is asked to check in at 22:00 (answer ✅); !jour shows the check-ins.",
        f"Browser view: http://127.0.0.1:{ports.web}/{_taken(ports.web, WEB_PORT)} — as @chef.c (or a responder)",
        f"  type  !webb  to @jourbot:{SERVER_NAME} and open the one-time link it sends in your direct room.",
        f"Monitoring: http://127.0.0.1:{ports.monitoring}/healthz and /metrics"
        f"{_taken(ports.monitoring, MONITORING_PORT)}",
        "SMS is off here (a paid service); config.example.toml shows how to turn it on.",
        "Ctrl-C stops the bot and the homeserver.",
        "",
    ]
    return "\n".join(lines)


def _taken(port: int, usual: int) -> str:
    return "" if port == usual else f" ({usual} is taken by another program)"


def main(root: Path) -> int:
    workdir = (root / "var" / "demo").resolve()
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    server = Synapse(workdir / "synapse", synapse_python(root))
    server.start()
    try:
        ports = pick_ports()
        config_path, passwords = prepare(root, workdir, server, ports)
        config = config_module.load(config_path)
        setup_logging(config.bot.log_level, config.logging.format)
        print(banner(server, passwords, unit_rooms(load_dir(config.rosters_dir)), ports), flush=True)

        async def run_bot() -> None:
            app = App(config)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, app.stop.set)
            await app.run()

        asyncio.run(run_bot())
    finally:
        server.stop()
        print("stopped bot and homeserver")
    return 0
