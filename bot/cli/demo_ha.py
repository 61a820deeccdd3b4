"""`make run-ha`: `make run`'s demo with two instances of the bot on one PostgreSQL database (docs/operations.md, "Two
instances"), for anyone to watch one take over from the other.

Everything is thrown away and made anew at each run, under var/demo-ha: the homeserver with the demo accounts, a
PostgreSQL server from Debian's package on 127.0.0.1 (bot/cli/pgserver.py), and two `jourbot run` processes, each a
device of its own with a state folder of its own. An instance that ends (killed, or fenced: exit 4) is started again
here as a standby, as systemd's `Restart=` would. Ctrl-C stops them all.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.cli.demo import DemoPorts, banner, config_text, example_rosters, pick_ports, prepare_accounts, unit_rooms
from bot.cli.devserver import Synapse, synapse_python
from bot.cli.pgserver import PostgresServer, postgres_bin
from bot.cli.ports import free_port
from bot.store.files import write_private
from rosters import load_dir

INSTANCES = ("a", "b")
RESTART_AFTER_S = 3.0  # as a service manager would wait before starting a stopped instance again


def instance_ports(first: DemoPorts, count: int) -> list[DemoPorts]:
    """The first instance on the demo's usual ports (where free), the others each on free ports of their own: one
    host runs them all, and each listens while it starts, whichever acts."""
    ports = [first]
    taken = {first.web, first.monitoring}
    while len(ports) < count:
        web, monitoring = free_port(), free_port()
        if len({web, monitoring, *taken}) == len(taken) + 2:
            ports.append(DemoPorts(web, monitoring))
            taken |= {web, monitoring}
    return ports


@dataclass
class Instance:
    name: str
    config: Path
    ports: DemoPorts
    process: subprocess.Popen[bytes] | None = None
    role: str = ""
    ended_at: float = field(default=0.0)

    def start(self) -> None:
        log = (self.config.parent / f"instance-{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "run", "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # Ctrl-C reaches this process alone, which stops the instances in order
        log.close()
        self.role = ""

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def health(self) -> str:
        """What /healthz says this instance is ("acting", "standing_by"), or "" while it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports.monitoring}/healthz", timeout=2) as resp:
                return str(json.load(resp).get("role", ""))
        except urllib.error.HTTPError as err:  # a standby still syncing answers 503, with its role
            try:
                return str(json.load(err).get("role", ""))
            except ValueError:
                return ""
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ha_lines(instances: list[Instance], workdir: Path) -> list[str]:
    lines = ["Two instances of the bot share one PostgreSQL database; one acts, the other stands by:"]
    for instance in instances:
        lines.append(f"  instance {instance.name}: pid {instance.pid:<8} /healthz http://127.0.0.1:"
                     f"{instance.ports.monitoring}/healthz   browser view port {instance.ports.web}   log "
                     f"{workdir / f'instance-{instance.name}.log'}")
    lines += [
        "The browser view and !webb answer on the acting instance's port.",
        "To watch a takeover: kill -9 the acting instance's pid (printed below when it acts); the other acts within",
        "seconds, the supervisors (@chef.c) are told, and alarms go on from there. The killed one is started again",
        f"here after {RESTART_AFTER_S:.0f} s, as a standby.",
    ]
    return lines


def supervise(instances: list[Instance]) -> None:
    """Until Ctrl-C: says which instance acts whenever that changes, and starts again one that ended."""
    while True:
        for instance in instances:
            assert instance.process is not None
            code = instance.process.poll()
            if code is not None:
                if not instance.ended_at:
                    instance.ended_at = time.monotonic()
                    print(f"instance {instance.name} (pid {instance.pid}) ended with status {code}; started again in"
                          f" {RESTART_AFTER_S:.0f} s", flush=True)
                elif time.monotonic() - instance.ended_at >= RESTART_AFTER_S:
                    instance.ended_at = 0.0
                    instance.start()
                    print(f"instance {instance.name} started again: pid {instance.pid}", flush=True)
                continue
            role = instance.health()
            if role and role != instance.role:
                instance.role = role
                what = "ACTS" if role == "acting" else "stands by"
                hint = f"   (kill -9 {instance.pid} to watch the other take over)" if role == "acting" else ""
                print(f"instance {instance.name} (pid {instance.pid}) {what}{hint}", flush=True)
        time.sleep(1)


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(root: Path) -> int:
    # SIGTERM too stops everything in order, and Ctrl-C does even where the shell started this with SIGINT ignored
    # (a background job): the instances, in sessions of their own, would outlive it otherwise.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    bin_dir = postgres_bin()
    if bin_dir is None:
        print("make run-ha needs PostgreSQL from Debian's package: sudo apt-get install postgresql (or make postgres)")
        return 1
    workdir = (root / "var" / "demo-ha").resolve()
    shutil.rmtree(workdir, ignore_errors=True)  # a run is thrown away whole: its identity lived in its database
    workdir.mkdir(parents=True, mode=0o700)
    server = Synapse(workdir / "synapse", synapse_python(root))
    postgres = PostgresServer(bin_dir, prefix="jourbot-demo-ha-")
    instances: list[Instance] = []
    try:
        server.start()
        postgres.start()
        database = postgres.create_database("jourbot")
        rooms, passwords = prepare_accounts(root, workdir, server)
        for name, ports in zip(INSTANCES, instance_ports(pick_ports(), len(INSTANCES)), strict=True):
            config = workdir / f"config-{name}.toml"
            write_private(config, config_text(root, server.url, rooms, ports, instance=name, database=database))
            instances.append(Instance(name, config, ports))
        instances[0].start()
        # The first to start takes the lock; the second, started after it, stands by.
        deadline = time.monotonic() + 90
        while instances[0].health() != "acting":
            if time.monotonic() > deadline or instances[0].process is None or instances[0].process.poll() is not None:
                print(f"instance a did not start; see {workdir / 'instance-a.log'}")
                return 1
            time.sleep(0.5)
        instances[1].start()
        roster_rooms = unit_rooms(load_dir(example_rosters(root)))
        print(banner(server, passwords, roster_rooms, instances[0].ports).replace(
            "Ctrl-C stops the bot and the homeserver.", "Ctrl-C stops both instances, PostgreSQL and the homeserver."))
        print("\n".join(ha_lines(instances, workdir)) + "\n", flush=True)
        supervise(instances)
    except KeyboardInterrupt:
        pass
    finally:
        for instance in instances:
            instance.stop()
        postgres.stop()
        server.stop()
        print("stopped the instances, PostgreSQL and the homeserver")
    return 0
