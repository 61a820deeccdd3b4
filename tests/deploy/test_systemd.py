"""bot/deploy/jourbot.service as systemd itself judges it: `systemd-analyze verify` (the unit loads, its commands
exist) and `systemd-analyze security` (how much of the system a compromised bot could reach), held at 2.0 or less.

Debian's systemd provides systemd-analyze; `make test` installs it (the Makefile's deploy-tools). Neither command
needs systemd running: `verify` reads the file, and `security --offline=true` judges the file alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "bot" / "deploy" / "jourbot.service"
MAX_EXPOSURE = 2.0


@pytest.fixture
def unit_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's jourbot, so `verify` finds the program it names."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: `make deploy-tools` (part of `make test`) installs Debian's systemd")
    jourbot = Path(sys.executable).parent / "jourbot"
    assert jourbot.exists(), f"{jourbot}: install the bot first (make install)"
    text, count = re.subn(r"^ExecStart=\S+", f"ExecStart={jourbot}", UNIT.read_text(), flags=re.M)
    assert count == 1
    copy = tmp_path / "jourbot.service"
    copy.write_text(text)
    return copy


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=120)


def test_systemd_analyze_verify_accepts_the_unit(unit_here):
    result = analyze("verify", "--man=no", str(unit_here))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "jourbot.service" not in result.stderr, f"warnings about the unit: {result.stderr}"


def test_systemd_analyze_verify_would_notice_a_program_that_is_not_there(unit_here):
    """So that the test above is not passing on a verify that checks nothing."""
    unit_here.write_text(re.sub(r"^ExecStart=\S+", "ExecStart=/nonexistent/jourbot", unit_here.read_text(), flags=re.M))
    result = analyze("verify", "--man=no", str(unit_here))
    assert result.returncode != 0 and "/nonexistent/jourbot" in result.stderr


def test_systemd_analyze_security_rates_the_unit_exposure_two_or_less(unit_here):
    result = analyze("security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}", "--no-pager",
                     str(unit_here))
    found = re.search(r"Overall exposure level for jourbot\.service: (\d+\.\d+) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    print(found[0])  # the score line, for the record of a run (pytest -s)
    assert float(found[1]) <= MAX_EXPOSURE, result.stdout
    assert result.returncode == 0, f"--threshold refused it: {result.stderr}"
