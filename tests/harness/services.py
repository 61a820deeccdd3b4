"""Stand-ins for bot.core.desks.Services in unit tests of handlers that must not reach the runtime."""

from __future__ import annotations

from typing import Any


class Unreachable:
    """Any use is a test failure: the handler under test was expected to answer on its own."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the handler reached services.{name}")
