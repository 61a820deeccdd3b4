"""What every benchmark needs around its measurement: a throwaway Synapse that is always stopped, clean handling of
Ctrl-C and `kill`, and a description of the machine and the code the figures belong to."""

from __future__ import annotations

import asyncio
import atexit
import importlib.metadata
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
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
