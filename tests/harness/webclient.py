"""A browser stand-in for the component tier: real HTTP to the bot's web view, with a cookie jar and form posts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import aiohttp

LINK = re.compile(r"https?://\S+/login/[A-Za-z0-9_-]+")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def link_in(text: str) -> str:
    """The login link's path in a !webb message."""
    found = LINK.search(text)
    assert found, f"no login link in {text!r}"
    return urlsplit(found.group(0)).path


class WebClient:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        # unsafe: keep cookies set by an IP address (127.0.0.1), as a browser does
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str) -> tuple[int, str, str]:
        """(status, final path after redirects, body)."""
        async with self.session.get(self.base + path) as resp:
            return resp.status, resp.url.path, await resp.text()

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str]:
        async with self.session.post(self.base + path, data=form) as resp:
            return resp.status, resp.url.path, await resp.text()

    async def log_in(self, link_path: str) -> tuple[int, str, str]:
        """Open the link and press the button, as a person does."""
        status, _, page = await self.get(link_path)
        if status != 200:
            return status, link_path, page
        token = link_path.rsplit("/", 1)[1]
        return await self.post("/login", {"token": token, "csrf": csrf_in(page)})


def csrf_in(page: str) -> str:
    found = CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)
