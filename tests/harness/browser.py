"""Headless Chromium from Debian's `chromium` package, driven by Playwright (whose own browser download is not
reachable here). A missing browser is a failure, never a skip: `make test` installs it."""

from __future__ import annotations

import os
import re
import shutil
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("JOURBOT_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections to Google are refused by a closed network,
# many at a time; as root it needs --no-sandbox.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def screenshot_path(name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")


def pdf_pages(pdf: bytes) -> int:
    """How many pages Chromium's PDF has: its page objects are written uncompressed, one `/Type /Page` each."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def pdf_fill_colours(pdf: bytes) -> set[tuple[int, int, int]]:
    """The RGB colours (0-255) the PDF fills with (`r g b rg`), read from its compressed content streams: what reaches
    the paper, since a print without background graphics drops them."""
    colours: set[tuple[int, int, int]] = set()
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S):
        try:
            text = zlib.decompress(raw)
        except zlib.error:
            continue  # an image or a font, not drawing
        for r, g, b in re.findall(rb"([0-9.]+) ([0-9.]+) ([0-9.]+) rg", text):
            colours.add((round(float(r) * 255), round(float(g) * 255), round(float(b) * 255)))
    return colours


def pdf_page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's (width, height) in points, from its MediaBox: A4 landscape is about (842, 595)."""
    return [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", pdf)]
