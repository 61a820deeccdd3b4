"""Where each key of a TOML file is set: the line of every table header and key, by its full path.

tomllib gives values without positions, and the first line that merely mentions a key's name is often another
section's (`enabled` is in [sms], [web] and [monitoring]), so this scanner follows the file as TOML does: `[table]`
and `[[array]]` headers set the table the keys below belong to (the n-th `[[checkin]]` is ("checkin", n)), dotted keys
reach into sub-tables, and multi-line strings and arrays are skipped over so nothing inside them reads as a key.
Keys inside inline tables (`x = { a = 1 }`) are not tracked: they are reported at the line of the key that holds them.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def key_lines(text: str) -> dict[Path, int]:
    """Each table's and key's path → the line (1-based) where it is first defined."""
    lines: dict[Path, int] = {}
    arrays: dict[Path, int] = {}  # path of an array of tables → index of its last [[...]] header
    table: Path = ()
    depth = 0  # open brackets/braces of a value that goes on over several lines
    in_string = ""  # the delimiter of a multi-line string still open: '"""' or "'''"
    for number, line in enumerate(text.splitlines(), start=1):
        rest = line
        if in_string or depth:
            depth, in_string = _skip_value(rest, depth, in_string)
            continue
        stripped = rest.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            is_array = stripped.startswith("[[")
            parsed = _parse_key(stripped[2 if is_array else 1:])
            if parsed is None:
                continue
            parts, _ = parsed
            # [[a.b]] adds an element to a.b itself; any other name in a header means an array's last element.
            table = (*_resolve(parts[:-1], arrays), parts[-1]) if is_array else _resolve(parts, arrays)
            if is_array:
                arrays[table] = arrays.get(table, -1) + 1
                _note(lines, table, number)  # the array itself: its first header
                table = (*table, arrays[table])
            _note(lines, table, number)
            continue
        parsed = _parse_key(stripped)
        if parsed is None or not parsed[1].startswith("="):
            continue
        parts, after = parsed
        _note(lines, (*table, *parts), number)
        depth, in_string = _skip_value(after[1:], 0, "")
    return lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, else of the nearest table or key above it that is in the file (where a missing key
    belongs); None when nothing of it is."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _note(lines: dict[Path, int], path: Path, number: int) -> None:
    """Record `path` and every table above it that this line implicitly creates."""
    for end in range(1, len(path) + 1):
        lines.setdefault(path[:end], number)


def _resolve(parts: list[str], arrays: dict[Path, int]) -> Path:
    """A header's dotted name as a path: a name that is an array of tables means its last element."""
    path: Path = ()
    for part in parts:
        path = (*path, part)
        if path in arrays:
            path = (*path, arrays[path])
    return path


def _parse_key(text: str) -> tuple[list[str], str] | None:
    """A (dotted) key at the start of `text`: its parts and what follows it, whitespace stripped; None if none."""
    parts: list[str] = []
    rest = text.lstrip()
    while True:
        if rest[:1] == '"':
            end = _string_end(rest, 1, '"')
            if end < 0:
                return None
            parts.append(rest[1:end].encode("latin-1", "backslashreplace").decode("unicode_escape"))
            rest = rest[end + 1:]
        elif rest[:1] == "'":
            end = rest.find("'", 1)
            if end < 0:
                return None
            parts.append(rest[1:end])
            rest = rest[end + 1:]
        else:
            match = _BARE.match(rest)
            if match is None:
                return None
            parts.append(match.group())
            rest = rest[match.end():]
        rest = rest.lstrip()
        if rest[:1] != ".":
            return parts, rest
        rest = rest[1:].lstrip()


def _string_end(text: str, start: int, quote: str) -> int:
    """Index of the quote that closes a basic string opened before `start`, escapes honoured; -1 if none."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def _skip_value(text: str, depth: int, in_string: str) -> tuple[int, str]:
    """Read a value's text: the bracket depth and multi-line string still open at the end of the line."""
    i = 0
    while i < len(text):
        if in_string:
            end = text.find(in_string, i)
            if end < 0:
                return depth, in_string
            if in_string == '"""' and _escaped(text, end):
                i = end + 1
                continue
            i = end + 3
            in_string = ""
            continue
        char = text[i]
        if text.startswith('"""', i) or text.startswith("'''", i):
            in_string = text[i:i + 3]
            i += 3
        elif char == '"':
            end = _string_end(text, i + 1, '"')
            i = len(text) if end < 0 else end + 1
        elif char == "'":
            end = text.find("'", i + 1)
            i = len(text) if end < 0 else end + 1
        elif char == "#":
            break
        else:
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth = max(0, depth - 1)
            i += 1
    return depth, in_string


def _escaped(text: str, index: int) -> bool:
    """Whether the character at `index` follows an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
