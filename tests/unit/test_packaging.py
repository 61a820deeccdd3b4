"""An installed (not editable) jourbot must hold every module and data file the running bot reads: the container
image and a plain `pip install` get only what pyproject.toml names."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_of_the_bot_is_installed():
    found = set(find_packages(where=str(ROOT), include=CONFIG["packages"]["find"]["include"]))
    on_disk = {str(p.parent.relative_to(ROOT)).replace("/", ".")
               for top in ("bot", "handlers", "rosters") for p in (ROOT / top).rglob("__init__.py")}
    assert on_disk <= found, f"packages a plain install would leave out: {sorted(on_disk - found)}"


def test_the_texts_templates_and_example_rosters_are_installed():
    data = CONFIG["package-data"]
    for package, globs in data.items():
        base = ROOT / package.replace(".", "/")
        assert all(list(base.glob(g)) for g in globs), f"{package}: a package-data pattern matches nothing"
    assert "locale/*/LC_MESSAGES/*.po" in data["bot.core"]
    assert set(data["bot.web"]) >= {"templates/*.html", "static/*.css"}
    needed = {p.relative_to(ROOT / "bot" / "web").as_posix() for p in (ROOT / "bot" / "web").rglob("*")
              if p.is_file() and p.suffix in (".html", ".css", ".png", ".js")}
    covered = {p.relative_to(ROOT / "bot" / "web").as_posix() for g in data["bot.web"]
               for p in (ROOT / "bot" / "web").glob(g)}
    assert needed <= covered, f"files of the browser view a plain install would leave out: {sorted(needed - covered)}"
