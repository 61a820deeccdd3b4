"""!byt parsing against the example rosters: what a supervisor types, and the override (or answer) it gives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.roles import Role
from handlers.override import parse_override
from handlers.registry import Command, Context
from rosters import Override, load_dir
from tests.harness.services import Unreachable

ROSTER = load_dir(Path(__file__).resolve().parents[2] / "rosters" / "examples")
NOW = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 14:00 in Stockholm


def parse(text: str, lang: str = "sv", now: datetime = NOW) -> Override | str:
    args = tuple(text.split())
    command = Command("byt", args, text, "@chef.c:localhost", "!r", "$e", now)
    return parse_override(command, Context(lang, now, frozenset({Role.SUPERVISOR}), False, True, Unreachable()), ROSTER)


def test_night_override_runs_over_midnight_in_local_time():
    result = parse("@anna.a:localhost 22:00 08:00 socialjouren sekundär")
    assert isinstance(result, Override)
    assert (result.unit, result.role, result.name) == ("socialjouren", "secondary", "Anna A")
    assert result.start.isoformat() == "2026-11-24T22:00:00+01:00"
    assert result.end.isoformat() == "2026-11-25T08:00:00+01:00"


def test_override_is_applied_by_the_engine():
    result = parse("@anna.a:localhost 2026-11-24T22:00 2026-11-25T08:00 socialjouren primär")
    assert isinstance(result, Override)
    chain = ROSTER.who("farsta", datetime(2026, 11, 24, 23, 0, tzinfo=UTC), [result])
    assert chain.steps[0].people[0].user == "@anna.a:localhost"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anna 22:00 08:00", "Matrix-id"),
        ("@okand:localhost 22:00 08:00 socialjouren", "finns inte i jourschemat"),
        ("@anna.a:localhost 22:00 08:00 nowhere", "Okänd enhet"),
        ("@anna.a:localhost 22:00 08:00", "skriv vilken"),  # Anna is in more than one unit
        ("@anna.a:localhost 25:00 08:00 socialjouren", "25:00"),
        ("@anna.a:localhost 2026-11-01T08:00 2026-11-02T08:00 socialjouren", "framtiden"),
        ("@anna.a:localhost 2027-03-28T02:30 2027-03-28T08:00 socialjouren", "02:30"),  # skipped by DST
    ],
)
def test_bad_overrides_get_a_clear_answer(text, expected):
    result = parse(text)
    assert isinstance(result, str) and expected in result


def test_confirmation_names_the_role_in_the_readers_language():
    from handlers.override import describe

    result = parse("@anna.a:localhost 22:00 08:00 socialjouren sekundär")
    assert isinstance(result, Override)
    assert "bakjour i socialjouren" in describe(result, "sv")
    assert "secondary in socialjouren" in describe(result, "en")
    # The words the confirmation uses are words a supervisor may type back.
    spoken = parse("@anna.a:localhost 22:00 08:00 socialjouren bakjour")
    assert isinstance(spoken, Override) and spoken.role == "secondary"
    assert isinstance(parse("@anna.a:localhost 22:00 08:00 socialjouren primärjour"), Override)


def test_a_date_and_a_time_typed_apart_are_one_instant():
    result = parse("@anna.a:localhost 2026-12-24 08:00 2026-12-24 20:00 socialjouren")
    assert isinstance(result, Override)
    assert (result.start.isoformat(), result.end.isoformat()) == (
        "2026-12-24T08:00:00+01:00", "2026-12-24T20:00:00+01:00")


def test_a_mistyped_time_is_the_answer_even_when_the_unit_is_missing_too():
    result = parse("@anna.a:localhost 25:00 08:00")  # Anna is in more than one unit, and 25:00 is no time
    assert isinstance(result, str) and "25:00" in result and "skriv vilken" not in result
