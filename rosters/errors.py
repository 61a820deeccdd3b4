"""What can go wrong when reading rosters or asking them a question."""

from __future__ import annotations

from collections.abc import Sequence


class RosterError(Exception):
    """The roster folder cannot be used; `problems` lists every one found, each naming its file and entry."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UnknownArea(LookupError):
    """No area is called `text`; `suggestions` holds the display names of the nearest ones."""

    def __init__(self, text: str, suggestions: Sequence[str]) -> None:
        self.text = text
        self.suggestions = list(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown area {text!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownUnit(LookupError):
    """No unit is called `text`; `suggestions` holds the ids of the nearest ones."""

    def __init__(self, text: str, suggestions: Sequence[str]) -> None:
        self.text = text
        self.suggestions = list(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown unit {text!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class TimeError(ValueError):
    """A time typed by a person cannot be read as one instant.

    `kind` is "format", "nonexistent" (skipped by a spring-forward change) or "ambiguous" (repeated by a fall-back
    change), so chat can explain it in the reader's language; str() is the English message for the command line.
    """

    def __init__(self, kind: str, text: str, message: str, zone: str = "", examples: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.text = text
        self.zone = zone
        self.examples = examples  # unambiguous ways to write what was probably meant, with an offset
        super().__init__(message)
