"""A throwaway local Synapse homeserver, for `make run` (the demo) and the integration tests.

Synapse lives in its own virtualenv (`.synapse-venv`) so its pinned dependencies never meet ours. The server binds
127.0.0.1 only, uses SQLite, has registration closed, and registers accounts through the shared-secret admin API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot.cli.ports import free_port
from bot.store.files import write_private

SERVER_NAME = "localhost"
__all__ = ["SERVER_NAME", "Synapse", "free_port", "synapse_python"]


def synapse_python(root: Path) -> Path:
    """The interpreter of the Synapse virtualenv (JOURBOT_SYNAPSE_PYTHON overrides)."""
    override = os.environ.get("JOURBOT_SYNAPSE_PYTHON")
    return Path(override) if override else root / ".synapse-venv" / "bin" / "python"


@dataclass
class Synapse:
    """One homeserver instance living in `workdir`; `start()` reuses a config written earlier."""

    workdir: Path
    python: Path
    port: int = 0
    relaxed_rate_limits: bool = True
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "homeserver.log"

    def _secrets(self) -> dict[str, str]:
        path = self.workdir / "secrets.json"
        if path.exists():
            return dict(json.loads(path.read_text()))
        values = {name: secrets.token_urlsafe(32) for name in ("registration", "macaroon", "form")}
        write_private(path, json.dumps(values))
        return values

    def write_config(self) -> None:
        """Write homeserver.yaml (as JSON, which YAML reads) unless it exists; keep the port stable across runs."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        port_file = self.workdir / "port"
        if self.config_path.exists() and port_file.exists():
            self.port = int(port_file.read_text())
            return
        if not self.port:
            self.port = free_port()
        port_file.write_text(str(self.port))
        signing_key = self.workdir / "signing.key"
        if not signing_key.exists():
            subprocess.run(
                [str(self.python), "-m", "synapse._scripts.generate_signing_key", "-o", str(signing_key)],
                check=True,
                capture_output=True,
            )
        log_config = self.workdir / "log.config"
        log_config.write_text(
            json.dumps(
                {
                    "version": 1,
                    "formatters": {"f": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
                    "handlers": {
                        "file": {"class": "logging.FileHandler", "formatter": "f", "filename": str(self.log_path)}
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        generous = {"per_second": 1000, "burst_count": 1000}
        s = self._secrets()
        config: dict[str, object] = {
            "server_name": SERVER_NAME,
            "pid_file": str(self.workdir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.workdir / "homeserver.db")}},
            "log_config": str(log_config),
            "media_store_path": str(self.workdir / "media"),
            "signing_key_path": str(signing_key),
            "registration_shared_secret": s["registration"],
            "macaroon_secret_key": s["macaroon"],
            "form_secret": s["form"],
            "enable_registration": False,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "use_presence": False,
            "url_preview_enabled": False,
            "enable_metrics": False,
        }
        if self.relaxed_rate_limits:
            config.update(
                {
                    "rc_message": generous,
                    "rc_login": {"address": generous, "account": generous, "failed_attempts": generous},
                    "rc_registration": generous,
                    "rc_joins": {"local": generous, "remote": generous},
                    "rc_joins_per_room": generous,
                    "rc_invites": {"per_room": generous, "per_user": generous, "per_issuer": generous},
                    "rc_key_requests": generous,
                    "rc_admin_redaction": generous,
                    "rc_3pid_validation": generous,
                    "rc_room_creation": generous,
                    "rc_delayed_event_mgmt": generous,
                    "rc_reports": generous,
                }
            )
        write_private(self.config_path, json.dumps(config, indent=1))

    def start(self, timeout: float = 60.0) -> None:
        self.write_config()
        log = open(self.workdir / "stdout.log", "ab")
        self._proc = subprocess.Popen(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop Synapse in order
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"Synapse exited with {self._proc.returncode}; see {self.workdir / 'stdout.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Synapse did not answer within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def register(self, localpart: str, password: str, admin: bool = False) -> str:
        """Register `localpart` through the shared-secret admin API; an existing account is left as it is."""
        user_id = f"@{localpart}:{SERVER_NAME}"
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        with urllib.request.urlopen(endpoint, timeout=10) as resp:
            nonce = json.load(resp)["nonce"]
        body: dict[str, object] = {"nonce": nonce, "username": localpart, "password": password, "admin": admin}
        mac = hmac.new(self._secrets()["registration"].encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join(p.encode() for p in (nonce, localpart, password, "admin" if admin else "notadmin")))
        body["mac"] = mac.hexdigest()
        request = urllib.request.Request(
            endpoint, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except urllib.error.HTTPError as err:
            payload = json.loads(err.read() or b"{}")
            if payload.get("errcode") != "M_USER_IN_USE":
                raise RuntimeError(f"could not register {user_id}: {payload}") from err
        return user_id


def main() -> None:  # pragma: no cover - a manual aid: python -m bot.cli.devserver DIR
    server = Synapse(Path(sys.argv[1]).resolve(), synapse_python(Path.cwd()))
    server.start()
    print(server.url)
    try:
        while server.running:
            time.sleep(1)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
