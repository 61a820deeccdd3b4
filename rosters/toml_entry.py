"""One table of a roster TOML file being read: typed getters that report problems instead of raising.

Problems read "file: entry: message", so a supervisor can find the line to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class Entry:
    """A table of `file` called `entry` in messages; problems are appended to the shared `problems` list."""

    def __init__(self, problems: list[str], file: str, entry: str, table: dict[str, Any]) -> None:
        self.problems, self.file, self.entry, self.table = problems, file, entry, table

    def child(self, entry: str, table: dict[str, Any]) -> Entry:
        return Entry(self.problems, self.file, entry, table)

    def error(self, message: str) -> None:
        self.problems.append(f"{self.file}: {self.entry}: {message}" if self.entry else f"{self.file}: {message}")

    def only(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                self.error(f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        value = self.table.get(key)
        if value is None:
            if required:
                self.error(f"missing {key!r}")
            return default
        if not isinstance(value, str) or not value.strip():
            self.error(f"{key!r} must be a non-empty text, not {value!r}")
            return default
        return value.strip()

    def texts(self, key: str) -> list[str]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(f"{key!r} must be a list of texts, not {value!r}")
            return []
        return [v.strip() for v in value]

    def persons(self, key: str, people: Mapping[str, str]) -> tuple[str, ...]:
        found = []
        for user in self.texts(key):
            if user not in people:
                self.error(f"unknown person {user} in {key!r} (add them to people.toml)")
            else:
                found.append(user)
        return tuple(found)

    def day(self, key: str, required: bool) -> date | None:
        value = self.table.get(key)
        if value is None:
            if required:
                self.error(f"missing {key!r} (a date, YYYY-MM-DD)")
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.error(f"{key!r}: bad date {value!r}, expected YYYY-MM-DD")
            return None

    def clock(self, key: str, value: object) -> time | None:
        if isinstance(value, time):
            return value
        match = _CLOCK.match(str(value).strip())
        if match is None:
            self.error(f"{key!r}: bad time {value!r}, expected HH:MM (24-hour clock)")
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def window(self, key: str, value: object) -> tuple[time, time] | None:
        parts = str(value).replace("–", "-").split("-")
        if len(parts) != 2:
            self.error(f"{key!r}: bad time span {value!r}, expected HH:MM-HH:MM")
            return None
        begins, ends = self.clock(key, parts[0]), self.clock(key, parts[1])
        return (begins, ends) if begins is not None and ends is not None else None
