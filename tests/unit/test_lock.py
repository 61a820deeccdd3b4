"""The locks (`make lock`) are what a fresh clone, CI and the image install: they must hold every package pyproject.toml
asks for at a version it accepts, each with its hashes, and the runtime lock must name the versions the tests ran."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """name → (version, how many hashes), from a lock in pip's requirements format."""
    found: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / lock).read_text().splitlines():
        if match := _PIN.match(line):
            name = canonicalize_name(match[1])
            found[name] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"{lock}: a line that is no pin: {line!r}")
    return found


def asked(*groups: str) -> list[Requirement]:
    reqs = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    for group in groups:
        raw = PYPROJECT["project"]["dependencies"] if group == "runtime" else PYPROJECT["project"][
            "optional-dependencies"][group]
        reqs += [Requirement(r) for r in raw]
    return reqs


def test_each_lock_holds_every_package_pyproject_asks_for_at_an_accepted_version_with_hashes():
    for lock, groups in (("requirements.lock", ("runtime",)), ("requirements-test.lock", ("runtime", "test"))):
        locked = pins(lock)
        assert locked, f"{lock} pins nothing"
        for req in asked(*groups):
            name = canonicalize_name(req.name)
            assert name in locked, f"{lock} lacks {req.name}: run `make lock`"
            version, _ = locked[name]
            assert req.specifier.contains(version, prereleases=True), (
                f"{lock} has {req.name}=={version}, but pyproject.toml asks for {req}: run `make lock`")
        unhashed = sorted(n for n, (_, hashes) in locked.items() if hashes == 0)
        assert not unhashed, f"{lock}: no hashes for {unhashed}, and pip --require-hashes refuses the whole file"


def test_the_runtime_lock_names_the_versions_the_tests_ran_with_and_nothing_for_tests_only():
    runtime, tested = pins("requirements.lock"), pins("requirements-test.lock")
    differ = {n: (v, tested.get(n, ("absent", 0))[0]) for n, (v, _) in runtime.items() if tested.get(n, ("",))[0] != v}
    assert not differ, f"the image would run versions the tests never ran: {differ}"
    assert not {"pytest", "mypy", "ruff", "playwright"} & runtime.keys(), "test tools do not belong in the image"


def test_make_install_ci_and_the_image_install_from_the_locks_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    stamp = re.search(r"^\$\(VENV\)/\.installed:(.*)$", makefile, re.M)
    assert stamp and "$(TEST_LOCK)" in stamp[1], "a changed lock must reinstall the venv"
    assert "pip install -q --require-hashes -r $(TEST_LOCK)" in makefile
    assert "--no-deps" in makefile, "the project itself must not pull unlocked packages"
    containerfile = (ROOT / "bot" / "deploy" / "Containerfile").read_text()
    assert "--require-hashes -r /app/requirements.lock" in containerfile
    assert "--no-deps --no-build-isolation /app" in containerfile
    assert "make test" in (ROOT / ".ci" / "run").read_text()  # and `make test` depends on install
