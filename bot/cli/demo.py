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
from pathlib import Path
from typing import Any

from bot import config as config_module
from bot.app import App
from bot.devserver import SERVER_NAME, Synapse, synapse_python
from bot.files import write_private
from bot.logsetup import setup_logging

WEB_PORT = 8080  # the browser view, on 127.0.0.1 only

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


def prepare(root: Path, workdir: Path, server: Synapse) -> tuple[Path, dict[str, str]]:
    """Accounts, rooms and config.toml for the demo; idempotent."""
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
    if "socialjouren" not in rooms:
        token = login_token(server.url, "chef.c", passwords["chef.c"])
        invite = [bot, f"@anna.a:{SERVER_NAME}", f"@bertil.b:{SERVER_NAME}"]
        rooms["socialjouren"] = create_encrypted_room(server.url, token, "Socialjouren (demo)", invite)
        for member in ("anna.a", "bertil.b"):
            join(server.url, login_token(server.url, member, passwords[member]), rooms["socialjouren"])
    rooms_path.write_text(json.dumps(rooms, indent=1))

    _secret_file(workdir / "pickle.key")
    _secret_file(workdir / "data.key")
    config_path = workdir / "config.toml"
    write_private(
        config_path,
        f"""# Written by `make run`; see config.example.toml for every key.
rosters = "{root / 'rosters' / 'examples'}"

[matrix]
homeserver = "{server.url}"
user_id = "{bot}"
password_file = "jourbot.password"

[storage]
dir = "bot-state"
pickle_key_file = "pickle.key"
data_key_file = "data.key"

[bot]
language = "sv"
allowed_inviters = [":{SERVER_NAME}"]

[roles]
police = ["@polis1:{SERVER_NAME}"]
police_rooms = ["{rooms['police']}"]

[units.socialjouren]
room = "{rooms['socialjouren']}"

[web]
enabled = true
host = "127.0.0.1"
port = {WEB_PORT}
""",
    )
    return config_path, passwords


def banner(server: Synapse, passwords: dict[str, str]) -> str:
    lines = [
        "",
        "jourbot demo is running. Log in with any Matrix client (Element Web/Desktop, Fractal, …):",
        f"  homeserver: {server.url}",
        "",
    ]
    for localpart, role in DEMO_ACCOUNTS.items():
        lines.append(f"  @{localpart}:{SERVER_NAME:<10} password {passwords[localpart]:<14} {role}")
    lines += [
        "",
        "As @polis1 open the room 'Polis — larm (demo)' and type:  !hjälp   or   !larm Farsta två barn i lägenheten",
        "The responder on call (see !jour Farsta) gets a direct message and accepts with:  !ok",
        f"Browser view: http://127.0.0.1:{WEB_PORT}/ — log in as @chef.c (or a responder): type  !webb  to",
        f"  @jourbot:{SERVER_NAME} and open the one-time link it sends in your direct room.",
        "Ctrl-C stops the bot and the homeserver.",
        "",
    ]
    return "\n".join(lines)


def main(root: Path) -> int:
    workdir = (root / "var" / "demo").resolve()
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    server = Synapse(workdir / "synapse", synapse_python(root))
    server.start()
    try:
        config_path, passwords = prepare(root, workdir, server)
        config = config_module.load(config_path)
        setup_logging(config.bot.log_level)
        print(banner(server, passwords), flush=True)

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
