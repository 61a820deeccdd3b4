"""Fixtures shared by unit test files."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from tests.unit.test_crosssign import FakeHomeserver


@pytest.fixture
async def homeserver() -> AsyncIterator[tuple[FakeHomeserver, str]]:
    """The keys API of a homeserver, faked (tests/unit/test_crosssign.py), and its URL."""
    fake = FakeHomeserver()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url(""))
    finally:
        await server.close()
