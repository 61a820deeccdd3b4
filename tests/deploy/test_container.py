"""bot/deploy/Containerfile built with podman and started against a real Synapse: the image installs from the lock,
runs as its own user with a state volume it owns, and its HEALTHCHECK turns healthy once the bot syncs.

What a machine needs, and what happens without it:
- podman (Debian's; `make deploy-tools`, part of `make test`, installs it with runc and debootstrap). Where podman
  cannot run a container at all (a sandbox that forbids its namespaces, cgroups or rlimits), the tests skip and say
  what podman answered. A machine whose default runtime fails but runc works (cgroup v1/v2 "hybrid" hosts, on which
  crun refuses) is run with runc.
- the pinned base image. When no registry answers, the tests build a stand-in: Debian bookworm with its Python 3.11
  (debootstrap, from Debian's mirror), kept as localhost/jourbot-test-base:bookworm for later runs, and given to
  `podman build --from`, which replaces the Containerfile's FROM and nothing else. Everything after FROM is what
  runs on the real base too; what the stand-in cannot show is the pinned digest itself. The tests print which base
  they used.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.botrunner import TEST_DATA_KEY, TEST_PICKLE_KEY
from tests.harness.synapse import PASSWORD, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "bot" / "deploy" / "Containerfile"
STAND_IN = "localhost/jourbot-test-base:bookworm"
MIRROR = os.environ.get("JOURBOT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BOT_UID = 10001  # the Containerfile's useradd


def podman(*args: str, timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@dataclass(frozen=True)
class Podman:
    base: str  # the image FROM names, or the stand-in
    stand_in: bool
    runtime: list[str]  # podman's global options that let it run a container here
    limits: list[str]  # run and build options, likewise

    pip_trust: list[str]  # build volumes that give pip in the build the CA the host's pip is told to trust

    def build(self, *args: str) -> subprocess.CompletedProcess[str]:
        override = ["--from", self.base] if self.stand_in else []
        # The host's network: the build fetches packages from PyPI, and a bridge needs what a sandbox may not give.
        return podman(*self.runtime, "build", "--format", "docker", "--network", "host", *self.limits, *override,
                      *self.pip_trust, *args, timeout=1200)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return podman(*self.runtime, "run", *self.limits, *args, timeout=timeout)


def _pinned_base() -> str:
    (line,) = [ln for ln in CONTAINERFILE.read_text().splitlines() if ln.startswith("FROM ")]
    return line.split()[1]


def _stand_in(tmp: Path) -> str:
    """Debian bookworm with python3 and venv, as an image: what the pinned base is, less Docker Hub's own Python."""
    if podman("image", "exists", STAND_IN).returncode == 0:
        return ""
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        return "no registry answered, and the stand-in base needs debootstrap run as root"
    root = tmp / "rootfs"
    made = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                           "bookworm", str(root), MIRROR], capture_output=True, text=True, timeout=1200)
    if made.returncode != 0:
        return f"no registry answered, and debootstrap failed: {made.stderr[-800:] or made.stdout[-800:]}"
    archive = tmp / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root, arcname=".")
    shutil.rmtree(root)
    podman("import", str(archive), STAND_IN, check=True)
    archive.unlink()
    return ""


def _pip_trust(folder: Path) -> list[str]:
    """Where the host's pip is told to trust a CA of its own (a network that inspects TLS, as on some build machines),
    the build's pip must trust it too to reach PyPI: the CA and a pip.conf naming it are mounted into the build's RUN
    steps only, so nothing of it stays in the image."""
    cert = os.environ.get("PIP_CERT") or subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"], capture_output=True, text=True).stdout.strip()
    if not cert or not Path(cert).is_file():
        return []
    (folder / "pip.conf").write_text("[global]\ncert = /etc/ssl/host-ca.pem\n")
    return ["--volume", f"{cert}:/etc/ssl/host-ca.pem:ro", "--volume", f"{folder / 'pip.conf'}:/etc/pip.conf:ro"]


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed: `make deploy-tools` (part of `make test`) installs Debian's podman")
    base = _pinned_base()
    stand_in = False
    pulled = podman("image", "exists", base)
    if pulled.returncode != 0:
        pulled = podman("pull", "-q", base, timeout=600)
    if pulled.returncode != 0:
        print(f"\n{base} could not be pulled ({pulled.stderr.strip()[-300:]}); building on a stand-in base")
        if why := _stand_in(tmp_path_factory.mktemp("stand-in")):
            pytest.skip(why)
        base, stand_in = STAND_IN, True
    print(f"\nbase image: {base}")
    # Below the hard limits a sandbox may set under podman's defaults (which it then may not raise to), and ample for
    # the bot and pip.
    limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
    tried: list[str] = []
    for runtime in ([], ["--runtime", "runc"]):
        for extra in ([], limits):
            if runtime and shutil.which("runc") is None:
                continue
            probe = podman(*runtime, "run", "--rm", *extra, base, "true", timeout=120)
            if probe.returncode == 0:
                print(f"podman runs containers here with {runtime + extra or 'its defaults'}")
                return Podman(base, stand_in, runtime, extra, _pip_trust(tmp_path_factory.mktemp("pip")))
            tried.append(f"{runtime + extra or 'defaults'}: {probe.stderr.strip()[-300:]}")
    pytest.skip("this machine cannot run podman containers: " + "; ".join(tried))


@pytest.fixture(scope="module")
def image(machine: Podman) -> Iterator[str]:
    tag = f"localhost/jourbot-test:{secrets.token_hex(4)}"
    built = machine.build("-f", str(CONTAINERFILE), "-t", tag, str(REPO))
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    yield tag
    podman("rmi", "-f", tag)


def test_the_build_context_leaves_the_demo_keys_and_virtualenvs_behind(machine, tmp_path):
    """What podman sends to a build, per .dockerignore: a copy of the whole context, listed."""
    (REPO / "var").mkdir(exist_ok=True)
    sentinel = REPO / "var" / f"test-context-{secrets.token_hex(4)}.key"
    sentinel.write_text("never in an image")
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text("FROM scratch-replaced-by-from\nCOPY . /context\n")
    tag = f"localhost/jourbot-test-context:{secrets.token_hex(4)}"
    try:
        built = podman(*machine.runtime, "build", "--from", machine.base, *machine.limits, "-f", str(containerfile),
                       "-t", tag, str(REPO), timeout=600)
        assert built.returncode == 0, built.stderr[-3000:]
        listed = machine.run("--rm", tag, "find", "/context", "-maxdepth", "3")
        assert listed.returncode == 0, listed.stderr
    finally:
        sentinel.unlink()
        podman("rmi", "-f", tag)
    paths = set(listed.stdout.split())
    assert "/context/bot/deploy/Containerfile" in paths and "/context/requirements.lock" in paths
    leaked = sorted(p for p in paths if re.search(r"^/context/(var|\.venv|\.synapse-venv|\.git)(/|$)|node_modules|"
                                                   r"\.key$|\.password$", p))
    assert not leaked, f"in the build context: {leaked}"


def test_the_image_runs_the_bot_as_its_own_user_on_a_volume_it_owns_and_turns_healthy(machine, image, synapse,
                                                                                         tmp_path):
    name = f"jourbot-test-{secrets.token_hex(4)}"
    user = synapse.register(f"{name}-bot", PASSWORD)
    monitoring = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"""rosters = "/etc/jourbot/rosters"

[matrix]
homeserver = "{synapse.url}"
user_id = "{user}"
password_file = "/run/secrets/matrix-password"
sync_timeout_s = 1

[storage]
dir = "/var/lib/jourbot"
pickle_key_file = "/run/secrets/pickle-key"
data_key_file = "/run/secrets/data-key"

[monitoring]
enabled = true
host = "127.0.0.1"
port = {monitoring}
""")
    config.chmod(0o644)
    made: list[list[str]] = []
    secret_options: list[str] = []
    for target, value in (("pickle-key", TEST_PICKLE_KEY), ("data-key", TEST_DATA_KEY), ("matrix-password", PASSWORD)):
        source = tmp_path / target
        source.write_text(value)
        secret = f"{name}-{target}"
        podman("secret", "create", secret, str(source), check=True)
        made.append(["secret", "rm", secret])
        # As an operator mounts them: the bot's user alone may read them, which the bot checks at preflight.
        secret_options += ["--secret", f"{secret},target={target},uid={BOT_UID},gid={BOT_UID},mode=0400"]
    volume = f"{name}-state"  # a named volume, new: it starts as a copy of the image's /var/lib/jourbot
    made.append(["volume", "rm", "-f", volume])
    made.append(["rm", "-f", "-t", "5", name])
    try:
        started = machine.run(
            "-d", "--name", name, "--network", "host", *secret_options,
            "-v", f"{config}:/etc/jourbot/config.toml:ro",
            "-v", f"{REPO / 'rosters' / 'examples'}:/etc/jourbot/rosters:ro",
            "-v", f"{volume}:/var/lib/jourbot", "-e", f"JOURBOT_HEALTHZ=http://127.0.0.1:{monitoring}/healthz", image)
        assert started.returncode == 0, started.stderr
        healthy = _wait_healthy(machine, name)
        logs = podman("logs", name).stderr[-3000:]
        assert healthy, f"never healthy; the bot said:\n{logs}"
        with urllib.request.urlopen(f"http://127.0.0.1:{monitoring}/healthz", timeout=5) as answer:
            assert answer.status == 200
        who = podman(*machine.runtime, "exec", name, "sh", "-c", "id -u; stat -c '%u %a' /var/lib/jourbot; ls "
                     "/var/lib/jourbot", check=True).stdout.split("\n")
        assert who[0] == str(BOT_UID), "the bot runs as its own user, never root"
        assert who[1] == f"{BOT_UID} 700", "the state volume is the bot's, private"
        assert "jourbot.db" in who[2:] and "credentials.json" in who[2:], "the bot keeps its state on the volume"
        state = json.loads(podman("inspect", name, "--format", "{{json .State.Health}}", check=True).stdout)
        assert state["Status"] == "healthy"
    finally:
        for args in reversed(made):
            podman(*args)


def _wait_healthy(machine: Podman, name: str, within: float = 180) -> bool:
    """`podman healthcheck run` runs the image's HEALTHCHECK once (no systemd timer needed): 0 once healthy."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if podman(*machine.runtime, "healthcheck", "run", name, timeout=60).returncode == 0:
            return True
        running = podman("inspect", name, "--format", "{{.State.Running}}").stdout.strip()
        if running != "true":
            return False
        time.sleep(2)
    return False
