"""What every benchmark needs around its measurement: a throwaway Synapse that is always stopped, clean handling of
Ctrl-C and `kill`, a description of the machine and the code the figures belong to, and figures beside their targets
(printed as "met"/"NOT met"; a missed target makes the exit code 1 unless --print-only)."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import hashlib
import hmac
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from signal import SIGINT, SIGTERM
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.synapse import Synapse, synapse_python  # noqa: E402

T = TypeVar("T")

# The loop and task of the measurement under way, so that `kill` can cancel it and everything stops in order.
measuring: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any] | None]] = []


def mark_measuring() -> None:
    """Call at the start of the measuring coroutine."""
    measuring.append((asyncio.get_running_loop(), asyncio.current_task()))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary(values: list[float]) -> dict[str, float]:
    """n, median, p95 (linear interpolation between order statistics, inclusive), mean, min, max; in ms."""
    if not values:
        return {"n": 0}
    p95 = statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else values[0]
    return {"n": len(values), "median_ms": ms(statistics.median(values)), "p95_ms": ms(p95),
            "mean_ms": ms(statistics.fmean(values)), "min_ms": ms(min(values)), "max_ms": ms(max(values))}


def environment(synapse_py: Path) -> dict[str, str]:
    found = subprocess.run(
        # Not synapse.__version__: run from inside a git checkout it appends that checkout's branch and commit.
        [str(synapse_py), "-c", "import importlib.metadata as m; print(m.version('matrix-synapse'))"],
        capture_output=True, text=True,
    )
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True)
    return {
        "python": platform.python_version(),
        "matrix_nio": importlib.metadata.version("matrix-nio"),
        "synapse": found.stdout.strip() or "unknown",
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "code": f"{REPO} @ {commit.stdout.strip() or '?'}" + (" + uncommitted changes" if dirty.stdout.strip() else ""),
        "load_average_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _on_sigterm(signum: int, frame: Any) -> None:
    """A plain `kill` cleans up as Ctrl-C does: while measuring, cancel the run so bot and clients stop in order."""
    if measuring and not measuring[-1][0].is_closed():
        loop, task = measuring[-1]
        if task is not None:
            loop.call_soon_threadsafe(task.cancel)
            return
    raise SystemExit(143)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and `kill` until Synapse has started: one landing inside Popen, after the fork but before Synapse
    keeps the child's handle, would leave a homeserver running that nobody stops."""
    received: list[int] = []
    wanted = [sig for sig in (SIGINT, SIGTERM) if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, lambda signum, _: received.append(signum)) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt if received[0] == SIGINT else SystemExit(143)


def with_synapse(
    prefix: str, announce: str | None, bot_password: str, run: Callable[[Synapse, Path], Awaitable[T]]
) -> tuple[T, dict[str, str]]:
    """Start a throwaway Synapse in a temporary folder (with the bot's account), run the measurement, always stop
    Synapse; (result, environment)."""
    signal.signal(SIGTERM, _on_sigterm)
    python = synapse_python(REPO)
    if not python.exists():
        sys.exit(f"Synapse is not installed at {python}: run `make test` once (it installs it)")
    env = environment(python)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        synapse = Synapse(workdir / "synapse", python)
        fast_password_hashing(synapse)
        atexit.register(synapse.stop)
        try:
            with _signals_deferred():
                synapse.start()
            synapse.register("jourbot", bot_password)
            if announce:
                print(f"Synapse up at {synapse.url}; {announce}…", file=sys.stderr, flush=True)
            result = asyncio.run(run(synapse, workdir))
        except KeyboardInterrupt:
            print("interrupted; stopping Synapse", file=sys.stderr)
            sys.exit(130)
        except asyncio.CancelledError:
            print("terminated; stopping Synapse", file=sys.stderr)
            sys.exit(143)
        finally:
            synapse.stop()
    env["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return result, env


def fast_password_hashing(synapse: Synapse) -> None:
    """bcrypt at 4 rounds, not 12: registering and logging in 150 accounts would otherwise take a minute of the
    homeserver's CPU, and no figure here is about passwords."""
    synapse.write_config()
    config = json.loads(synapse.config_path.read_text())
    config["bcrypt_rounds"] = 4
    synapse.config_path.write_text(json.dumps(config, indent=1))


def register_with_token(synapse: Synapse, localpart: str, password: str) -> tuple[str, str, str]:
    """A new account through the shared-secret admin API, with the access token and device it comes with: (user id,
    token, device id). For accounts that need no client of their own, only a device and a membership."""
    endpoint = f"{synapse.url}/_synapse/admin/v1/register"
    with urllib.request.urlopen(endpoint, timeout=10) as resp:
        nonce = json.load(resp)["nonce"]
    secret = json.loads((synapse.workdir / "secrets.json").read_text())["registration"]
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join(p.encode() for p in (nonce, localpart, password, "notadmin")))
    body = {"nonce": nonce, "username": localpart, "password": password, "admin": False, "mac": mac.hexdigest()}
    request = urllib.request.Request(endpoint, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        answer = json.load(resp)
    return str(answer["user_id"]), str(answer["access_token"]), str(answer["device_id"])


# --- figures beside targets -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    figure: str
    value: float | None
    target: str  # how the target reads, e.g. "≤ 2.20 ×"
    met: bool | None  # None: shown, not judged (a figure that is missing, or context)
    unit: str = "ms"


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print-only", action="store_true",
                        help="only print the figures: exit 0 even when a target is missed")


def print_targets(targets: list[Target]) -> None:
    print("\nfigure beside target:")
    width = max((len(t.figure) for t in targets), default=40)
    for t in targets:
        verdict = {True: "met", False: "NOT met", None: "—"}[t.met]
        if t.value is None:
            value = "" if t.met is not None else "missing"
        elif t.unit == "×":
            value = f"{t.value:.2f} ×"
        elif t.unit == "%":
            value = f"{t.value:+.1f} %"
        else:
            value = f"{t.value:.1f} {t.unit}"
        print(f"  {t.figure:{width}} {value:>11}   target {t.target}: {verdict}")


def exit_code(targets: list[Target], print_only: bool) -> int:
    """1 when a target is missed (or a judged figure is missing), unless only printing was asked for."""
    missed = [t.figure for t in targets if t.met is False]
    if missed and not print_only:
        print(f"\n{len(missed)} target(s) NOT met: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0
